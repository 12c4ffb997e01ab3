// ternd's egress flags (--egress_source, --egress_pool, --default_pool, --sender_pool,
// --pool_header) read into a delivery::EgressConfig, for the daemon's start and for
// `ternd --check_config`.
//
//   ASSIGN_OR_RETURN(auto egress, BuildEgressConfig());  // also binds every source once
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "delivery/egress_config.h"

namespace tern::ternd {

// The flags as they are now.
delivery::EgressFlags EgressFlagsFromCommandLine();

// Parses the flags and checks that every source can be bound on this host
// (delivery/source_bind_check.h): errors name the flag and value ("--egress_source=ip2=
// 192.0.2.7: egress source ip2 (192.0.2.7): address not on this host (EADDRNOTAVAIL)").
// Start-up only (blocking system calls).
absl::StatusOr<std::shared_ptr<const delivery::EgressConfig>> BuildEgressConfig();

}  // namespace tern::ternd
