// The admin endpoint's bearer token, read from --admin_token_file (ternd) or ternctl's
// --admin_token_file. The file is a secret: it must be a regular file that others (the
// "other" permission bits) can neither read nor write, at most kAdminTokenBytesMax bytes;
// one trailing newline (LF or CRLF) is stripped, and an empty token or one with whitespace
// or control characters inside is refused.
//
//   install -m 0600 /dev/null /etc/tern/admin.token
//   openssl rand -hex 32 > /etc/tern/admin.token
//   absl::StatusOr<std::string> token = LoadAdminToken("/etc/tern/admin.token");
#pragma once

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"

namespace tern::net {

inline constexpr size_t kAdminTokenBytesMax = 4096;

absl::StatusOr<std::string> LoadAdminToken(const std::string& path);

}  // namespace tern::net
