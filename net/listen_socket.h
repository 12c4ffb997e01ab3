// Listening sockets and address text: "HOST:PORT" / "[V6]:PORT" parsing, and opening one
// SO_REUSEPORT listener per shard on the same address (start-up only; blocking is fine);
// probing whether an address could be bound (`ternd --check_config`).
//
//   ASSIGN_OR_RETURN(SocketAddress addr, ParseSocketAddress("127.0.0.1:2525"));
//   ASSIGN_OR_RETURN(int fd, OpenListener(addr, /*backlog=*/4096));
//   // port 0: the kernel picks; BoundPort(fd) tells which, so the next shards reuse it.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tern::net {

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
  uint16_t port() const;
  void set_port(uint16_t port);
};

absl::StatusOr<SocketAddress> ParseSocketAddress(absl::string_view host_port);
// "127.0.0.1:2525", "[::1]:2525".
std::string FormatSocketAddress(const sockaddr_storage& address);
// The address alone: "127.0.0.1", "::1" (IPv4-mapped IPv6 shown as IPv4).
std::string FormatIpAddress(const sockaddr_storage& address);

// A failed bind says what it means ("in use by another program", "port 25 is privileged:
// ...", "not an address of this host") before the system's words.
absl::StatusOr<int> OpenListener(const SocketAddress& address, int backlog);
// Whether OpenListener could bind `address` now: binds a socket the same way (SO_REUSEPORT,
// so a running ternd of the same user on that address does not count) and closes it,
// without listening (no connection of that ternd can land on it). Errors as OpenListener's.
absl::Status ProbeListenAddress(const SocketAddress& address);
absl::StatusOr<uint16_t> BoundPort(int fd);

}  // namespace tern::net
