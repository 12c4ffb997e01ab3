// A self-signed certificate and its key, made in-process with OpenSSL for the TLS tests and
// written as PEM files into a fresh temporary folder (removed with the object).
//
//   TestCertificate cert = TestCertificate::Make("mx.test");   // EC P-256 unless kRsa
//   auto server = TlsContext::CreateServer({cert.cert_file(), cert.key_file()});
#pragma once

#include <string>

namespace tern::net::tls::testing {

class TestCertificate {
 public:
  enum class KeyType { kEcP256, kRsa2048 };
  // Fails the test (and returns empty paths) if OpenSSL cannot make one.
  static TestCertificate Make(const std::string& common_name, KeyType type = KeyType::kEcP256);
  ~TestCertificate();
  TestCertificate(TestCertificate&& other) noexcept;
  TestCertificate& operator=(TestCertificate&&) = delete;

  const std::string& cert_file() const { return cert_file_; }
  const std::string& key_file() const { return key_file_; }
  const std::string& dir() const { return dir_; }

 private:
  TestCertificate() = default;
  std::string dir_;
  std::string cert_file_;
  std::string key_file_;
};

}  // namespace tern::net::tls::testing
