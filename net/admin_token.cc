// Implementation of net/admin_token.h.
#include "net/admin_token.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace tern::net {

absl::StatusOr<std::string> LoadAdminToken(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    return absl::NotFoundError(absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(absl::StrCat(path, " is not a regular file"));
  }
  if ((st.st_mode & S_IRWXO) != 0) {
    ::close(fd);
    return absl::PermissionDeniedError(absl::StrFormat(
        "%s is accessible by others (mode %04o): the token is a secret, chmod o= it "
        "(e.g. install -m 0600)",
        path, st.st_mode & 07777));
  }
  std::string token(kAdminTokenBytesMax + 1, '\0');
  size_t filled = 0;
  // Bounded: stops at end of file or one byte past the limit.
  while (filled < token.size()) {
    const ssize_t n = ::read(fd, token.data() + filled, token.size() - filled);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      ::close(fd);
      return absl::InternalError(absl::StrCat("read ", path, ": ", std::strerror(error)));
    }
    if (n == 0) break;
    filled += static_cast<size_t>(n);
  }
  ::close(fd);
  if (filled > kAdminTokenBytesMax) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " is longer than ", kAdminTokenBytesMax, " bytes"));
  }
  token.resize(filled);
  if (absl::EndsWith(token, "\n")) token.pop_back();
  if (absl::EndsWith(token, "\r")) token.pop_back();
  if (token.empty()) return absl::InvalidArgumentError(absl::StrCat(path, " holds no token"));
  for (char c : token) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == 0x7f) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": the token must be one line of visible characters (no spaces or controls)"));
    }
  }
  return token;
}

}  // namespace tern::net
