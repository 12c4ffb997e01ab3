// OpenSSL's error queue as an absl::Status: every failing OpenSSL call in net/tls/ turns
// into one Status that names the call and carries the library's reasons, and leaves the
// thread's error queue empty for the next connection.
//
//   if (SSL_CTX_use_certificate_chain_file(ctx, path) != 1) {
//     return OpenSslError(absl::StrCat("reading certificate ", path));
//   }
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace tern::net::tls {

// Drains the thread's OpenSSL error queue into "what: reason; reason".
std::string DrainOpenSslErrors(absl::string_view what);

// InvalidArgument (configuration) errors carry what DrainOpenSslErrors() says.
absl::Status OpenSslError(absl::string_view what);

}  // namespace tern::net::tls
