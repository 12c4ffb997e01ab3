// CertificateValidity: when the certificates of a PEM chain file (--tls_cert) are valid, so
// that `ternd --check_config` can say a certificate has expired, or soon will, before
// clients start failing their handshakes. Reads the file only; verifies nothing (the chain
// is checked against its key by TlsContext::CreateServer).
//
//   ASSIGN_OR_RETURN(std::vector<CertificateValidity> chain, ReadCertificateChain(path));
//   if (chain[0].not_after < absl::Now()) ...  // the server's own certificate has expired
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace tern::net::tls {

struct CertificateValidity {
  std::string subject;  // one line, as OpenSSL prints it: "CN = mx.example.com"
  absl::Time not_before;
  absl::Time not_after;
};

// Every certificate of the file, in file order (the server's own first, then its chain).
// InvalidArgument when the file cannot be read or holds no PEM certificate.
absl::StatusOr<std::vector<CertificateValidity>> ReadCertificateChain(const std::string& path);

// "2025-03-01 12:00:00 UTC": how validity dates are shown to operators.
std::string FormatCertificateTime(absl::Time time);

}  // namespace tern::net::tls
