// Implementation of delivery/source_bind_check.h.
#include "delivery/source_bind_check.h"

#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "net/listen_socket.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24  // Linux 4.2
#endif

namespace tern::delivery {
namespace {

const char* ErrnoName(int err) {
  switch (err) {
    case EADDRNOTAVAIL:
      return "EADDRNOTAVAIL";
    case EADDRINUSE:
      return "EADDRINUSE";
    case EACCES:
      return "EACCES";
    case EAFNOSUPPORT:
      return "EAFNOSUPPORT";
    case EINVAL:
      return "EINVAL";
    default:
      return nullptr;
  }
}

absl::Status SourceError(const EgressSource& source, absl::string_view what, int err) {
  const char* name = ErrnoName(err);
  return absl::UnavailableError(absl::StrCat("egress source ", source.name, " (",
                                             net::FormatIpAddress(source.address), "): ", what,
                                             " (", name != nullptr ? name : strerror(err), ")"));
}

}  // namespace

absl::Status CheckSourceBindable(const EgressSource& source) {
  const int fd = socket(source.address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) {
    const int err = errno;
    return SourceError(source,
                       err == EAFNOSUPPORT ? "address family not supported on this host"
                                           : "cannot create a socket",
                       err);
  }
  const int one = 1;
  // Without it a bind with port 0 reserves a port now; delivery defers that to connect().
  (void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
  sockaddr_storage address = source.address;
  if (address.ss_family == AF_INET) {
    reinterpret_cast<sockaddr_in*>(&address)->sin_port = 0;
  } else {
    reinterpret_cast<sockaddr_in6*>(&address)->sin6_port = 0;
  }
  const int bound = bind(fd, reinterpret_cast<const sockaddr*>(&address), source.address_length);
  const int err = errno;
  close(fd);
  if (bound == 0) return absl::OkStatus();
  return SourceError(source, err == EADDRNOTAVAIL ? "address not on this host" : "cannot bind",
                     err);
}

}  // namespace tern::delivery
