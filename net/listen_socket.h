// Listening sockets and address text: "HOST:PORT" / "[V6]:PORT" parsing, and opening one
// SO_REUSEPORT listener per shard on the same address (start-up only; blocking is fine).
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

absl::StatusOr<int> OpenListener(const SocketAddress& address, int backlog);
absl::StatusOr<uint16_t> BoundPort(int fd);

}  // namespace tern::net
