// Implementation of tests/net/tls/test_certificate.h.
#include "tests/net/tls/test_certificate.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>

#include "gtest/gtest.h"

namespace tern::net::tls::testing {
namespace {

bool WritePem(const std::string& path, EVP_PKEY* key, X509* cert) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return false;
  const int ok = cert != nullptr
                     ? PEM_write_X509(f, cert)
                     : PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  return ok == 1;
}

}  // namespace

TestCertificate TestCertificate::Make(const std::string& common_name, KeyType type) {
  TestCertificate out;
  char dir_template[] = "/tmp/tern-tls-XXXXXX";
  const char* dir = mkdtemp(dir_template);
  EXPECT_NE(dir, nullptr);
  if (dir == nullptr) return out;
  out.dir_ = dir;
  EVP_PKEY* key = type == KeyType::kEcP256 ? EVP_EC_gen("P-256") : EVP_RSA_gen(2048);
  X509* cert = X509_new();
  EXPECT_NE(key, nullptr);
  EXPECT_NE(cert, nullptr);
  if (key == nullptr || cert == nullptr) return out;
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 7 * 24 * 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  X509_set_issuer_name(cert, name);
  EXPECT_GT(X509_sign(cert, key, EVP_sha256()), 0);
  out.cert_file_ = out.dir_ + "/cert.pem";
  out.key_file_ = out.dir_ + "/key.pem";
  EXPECT_TRUE(WritePem(out.cert_file_, nullptr, cert));
  EXPECT_TRUE(WritePem(out.key_file_, key, nullptr));
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

TestCertificate::TestCertificate(TestCertificate&& other) noexcept
    : dir_(std::move(other.dir_)),
      cert_file_(std::move(other.cert_file_)),
      key_file_(std::move(other.key_file_)) {
  other.dir_.clear();
}

TestCertificate::~TestCertificate() {
  if (dir_.empty()) return;
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

}  // namespace tern::net::tls::testing
