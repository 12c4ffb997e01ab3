// Implementation of net/tls/openssl_error.h.
#include "net/tls/openssl_error.h"

#include <openssl/err.h>

#include "absl/strings/str_cat.h"

namespace tern::net::tls {

std::string DrainOpenSslErrors(absl::string_view what) {
  std::string out(what);
  bool first = true;
  // Bounded: the queue holds at most ERR_NUM_ERRORS entries.
  for (unsigned long code = ERR_get_error(); code != 0; code = ERR_get_error()) {
    char reason[256];
    ERR_error_string_n(code, reason, sizeof(reason));
    absl::StrAppend(&out, first ? ": " : "; ", reason);
    first = false;
  }
  return out;
}

absl::Status OpenSslError(absl::string_view what) {
  return absl::InvalidArgumentError(DrainOpenSslErrors(what));
}

}  // namespace tern::net::tls
