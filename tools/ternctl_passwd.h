// `ternctl passwd USER`: sets USER's password in ternd's --auth_users_file (adds the user or
// replaces its hash; its sender list is kept unless --senders gives a new one). The
// password is read from the terminal without echo, or as the first line of standard input.
// The file is rewritten atomically (a temporary file renamed over it), mode 0640.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tern::tools {

struct PasswdRequest {
  std::string users_file;
  std::string user;
  std::string password;
  bool set_senders = false;
  std::string senders;  // "a@example.com,@example.org"
};

absl::Status SetPassword(const PasswdRequest& request);
// The password typed at the terminal (no echo, asked twice) or read from stdin.
absl::StatusOr<std::string> ReadPassword();

}  // namespace tern::tools
