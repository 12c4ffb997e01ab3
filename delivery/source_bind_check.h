// CheckSourceBindable: whether an egress source's address can be used on this host now,
// tested the way delivery will bind it (a TCP socket, IP_BIND_ADDRESS_NO_PORT, bind with
// port 0), then closed. For `ternd --check_config` and ternd's start: a source whose address
// is not on the host is a configuration error, found before any mail waits on it.
//
//   absl::Status s = CheckSourceBindable(source);
//   // "egress source ip2 (192.0.2.7): address not on this host (EADDRNOTAVAIL)"
//
// Blocking system calls: start-up and --check_config only, never on a shard's loop.
#pragma once

#include "absl/status/status.h"
#include "delivery/egress_config.h"

namespace tern::delivery {

absl::Status CheckSourceBindable(const EgressSource& source);

}  // namespace tern::delivery
