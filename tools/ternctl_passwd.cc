// Implementation of tools/ternctl_passwd.h.
#include "tools/ternctl_passwd.h"

#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "net/smtp/auth_users.h"
#include "net/smtp/password_hash.h"
#include "net/smtp/sasl.h"

namespace tern::tools {
namespace {

std::string ReadLineNoEcho(const char* prompt) {
  std::fprintf(stderr, "%s", prompt);
  termios saved{};
  const bool tty = tcgetattr(STDIN_FILENO, &saved) == 0;
  if (tty) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string line;
  std::getline(std::cin, line);
  if (tty) {
    tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    std::fprintf(stderr, "\n");
  }
  return line;
}

}  // namespace

absl::StatusOr<std::string> ReadPassword() {
  if (isatty(STDIN_FILENO)) {
    std::string first = ReadLineNoEcho("password: ");
    std::string again = ReadLineNoEcho("again: ");
    if (first != again) return absl::InvalidArgumentError("the passwords differ");
    return first;
  }
  std::string line;
  std::getline(std::cin, line);
  return std::string(absl::StripSuffix(line, "\r"));
}

absl::Status SetPassword(const PasswdRequest& request) {
  if (!net::smtp::IsValidAuthIdentity(request.user)) {
    return absl::InvalidArgumentError("bad user name: 1-255 bytes, no spaces, ':', CR, LF or NUL");
  }
  if (request.password.empty() || request.password.size() > net::smtp::kAuthPasswordBytesMax ||
      request.password.find_first_of(std::string("\r\n\0", 3)) != std::string::npos) {
    return absl::InvalidArgumentError("bad password: 1-1024 bytes, no CR, LF or NUL");
  }
  if (request.senders.find(':') != std::string::npos) {
    return absl::InvalidArgumentError("--senders may not contain ':'");
  }
  absl::StatusOr<std::string> hash = net::smtp::HashPassword(request.password);
  if (!hash.ok()) return hash.status();

  std::vector<std::string> lines;
  bool replaced = false;
  {
    std::ifstream in(request.users_file);
    std::string line;
    while (in && std::getline(in, line)) {
      const std::vector<std::string> fields = absl::StrSplit(line, absl::MaxSplits(':', 2));
      if (!line.empty() && line[0] != '#' && fields.size() >= 2 && fields[0] == request.user) {
        const std::string senders =
            request.set_senders ? request.senders : (fields.size() == 3 ? fields[2] : "");
        line = absl::StrCat(request.user, ":", *hash, senders.empty() ? "" : ":", senders);
        replaced = true;
      }
      lines.push_back(line);
    }
  }
  if (!replaced) {
    lines.push_back(absl::StrCat(request.user, ":", *hash, request.senders.empty() ? "" : ":",
                                 request.senders));
  }
  std::string text;
  for (const std::string& line : lines) absl::StrAppend(&text, line, "\n");
  // What ternd would refuse to load is not written.
  if (auto parsed = net::smtp::AuthUsers::Parse(text, request.users_file); !parsed.ok()) {
    return parsed.status();
  }
  const std::string tmp = request.users_file + ".tmp";
  FILE* out = std::fopen(tmp.c_str(), "w");
  if (out == nullptr) {
    return absl::PermissionDeniedError(absl::StrCat(tmp, ": ", std::strerror(errno)));
  }
  fchmod(fileno(out), 0640);
  const bool written = std::fwrite(text.data(), 1, text.size(), out) == text.size() &&
                       std::fflush(out) == 0 && fsync(fileno(out)) == 0;
  std::fclose(out);
  if (!written || std::rename(tmp.c_str(), request.users_file.c_str()) != 0) {
    std::remove(tmp.c_str());
    return absl::InternalError(
        absl::StrCat("writing ", request.users_file, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace tern::tools
