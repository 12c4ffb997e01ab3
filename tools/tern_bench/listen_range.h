// `tern-bench sink --listen`: one address, or one host with a range of ports, so that one
// sink can stand for many destinations (each port a next hop of its own for a relay):
//
//   ASSIGN_OR_RETURN(std::vector<net::SocketAddress> addresses,
//                    ParseListenRange("127.0.0.1:41000-41249"));   // 250 addresses
//   ParseListenRange("127.0.0.1:0")                                // one; the kernel picks
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "net/listen_socket.h"

namespace tern::tools::tern_bench {

// Most ports one --listen may name (each costs a socket per sink thread).
inline constexpr uint32_t kListenRangeMax = 4096;

// HOST:PORT or HOST:FIRST-LAST (FIRST <= LAST, both 1..65535, at most kListenRangeMax
// ports): the addresses in port order. InvalidArgument for anything else (port 0 in a range).
absl::StatusOr<std::vector<net::SocketAddress>> ParseListenRange(absl::string_view spec);

}  // namespace tern::tools::tern_bench
