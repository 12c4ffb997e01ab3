// Implementation of net/tls/certificate_validity.h.
#include "net/tls/certificate_validity.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>

#include "absl/strings/str_cat.h"
#include "net/tls/openssl_error.h"

namespace tern::net::tls {
namespace {

// A chain longer than this is not a server's certificate file.
constexpr int kChainCertificatesMax = 16;

struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};
struct X509Deleter {
  void operator()(X509* cert) const { X509_free(cert); }
};

absl::StatusOr<absl::Time> ToTime(const ASN1_TIME* asn1, absl::string_view what) {
  std::tm tm{};
  if (asn1 == nullptr || ASN1_TIME_to_tm(asn1, &tm) != 1) {
    return OpenSslError(absl::StrCat("reading ", what));
  }
  return absl::FromTimeT(::timegm(&tm));
}

std::string OneLineSubject(const X509* cert) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  if (bio == nullptr) return "";
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0, XN_FLAG_ONELINE);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return size > 0 ? std::string(data, static_cast<size_t>(size)) : "";
}

}  // namespace

absl::StatusOr<std::vector<CertificateValidity>> ReadCertificateChain(const std::string& path) {
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "r"));
  if (file == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read ", path, ": ", strerror(errno)));
  }
  std::vector<CertificateValidity> chain;
  while (static_cast<int>(chain.size()) < kChainCertificatesMax) {
    std::unique_ptr<X509, X509Deleter> cert(PEM_read_X509(file.get(), nullptr, nullptr, nullptr));
    if (cert == nullptr) break;
    CertificateValidity validity;
    validity.subject = OneLineSubject(cert.get());
    absl::StatusOr<absl::Time> not_before = ToTime(X509_get0_notBefore(cert.get()), "notBefore");
    if (!not_before.ok()) return not_before.status();
    absl::StatusOr<absl::Time> not_after = ToTime(X509_get0_notAfter(cert.get()), "notAfter");
    if (!not_after.ok()) return not_after.status();
    validity.not_before = *not_before;
    validity.not_after = *not_after;
    chain.push_back(std::move(validity));
  }
  // The read that ended the loop leaves "no start line" in the queue: not an error.
  ERR_clear_error();
  if (chain.empty())
    return absl::InvalidArgumentError(absl::StrCat(path, " holds no PEM certificate"));
  return chain;
}

std::string FormatCertificateTime(absl::Time time) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", time, absl::UTCTimeZone());
}

}  // namespace tern::net::tls
