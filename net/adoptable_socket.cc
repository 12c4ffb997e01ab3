// Implementation of net/adoptable_socket.h.
#include "net/adoptable_socket.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace tern::net {

absl::StatusOr<sockaddr_storage> CheckAdoptableSocket(int fd) {
  if (fd < 0) return absl::InvalidArgumentError("adopt: no socket");
  int type = 0;
  socklen_t type_len = sizeof(type);
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_len) != 0) {
    const int error = errno;
    close(fd);
    return absl::InvalidArgumentError(
        absl::StrCat("adopt fd ", fd, ": getsockopt SO_TYPE: ", strerror(error)));
  }
  if (type != SOCK_STREAM) {
    close(fd);
    return absl::InvalidArgumentError(absl::StrCat("adopt fd ", fd, ": not a stream socket"));
  }
  sockaddr_storage peer{};
  socklen_t len = sizeof(peer);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0) {
    const int error = errno;
    close(fd);
    return absl::FailedPreconditionError(
        absl::StrCat("adopt fd ", fd, ": getpeername: ", strerror(error)));
  }
  return peer;
}

}  // namespace tern::net
