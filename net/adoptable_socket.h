// CheckAdoptableSocket: what every engine's Transport::Adopt() checks before it wraps an fd
// (net/transport.h): a stream socket that is connected. On success the peer's address; on
// failure the fd is closed (Adopt owns it from the call on) and the status says why:
// InvalidArgument (no socket, not a stream socket) or FailedPrecondition (not connected).
//
//   ASSIGN_OR_RETURN(sockaddr_storage peer, net::CheckAdoptableSocket(fd));
#pragma once

#include <sys/socket.h>

#include "absl/status/statusor.h"

namespace tern::net {

absl::StatusOr<sockaddr_storage> CheckAdoptableSocket(int fd);

}  // namespace tern::net
