// ternd's egress flags (--egress_source, --egress_pool, --default_pool, --sender_pool,
// --pool_header) read into a delivery::EgressConfig: at the daemon's start (from the parsed
// flags), on SIGHUP (from the command line and its flagfiles read again) and for
// `ternd --check_config`. Both the start and SIGHUP go through BuildEgressConfig.
//
//   ASSIGN_OR_RETURN(auto egress, BuildEgressConfig(EgressFlagsFromCommandLine()));  // start
//   ASSIGN_OR_RETURN(auto egress, ReadEgressReload(saved_args));                     // SIGHUP
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "delivery/egress_config.h"

namespace tern::tools::ternd {

// The flags as abseil parsed them at start.
delivery::EgressFlags EgressFlagsFromCommandLine();

// The flags in a prepared command line (tools/ternd/command_line.h), split as abseil splits
// them; an absent flag has its default.
delivery::EgressFlags EgressFlagsFromPrepared(const std::vector<std::string>& prepared);

// Parses `flags` and checks that every source can be bound on this host
// (delivery/source_bind_check.h): errors name the flag and value ("--egress_source=ip2=
// 192.0.2.7: egress source ip2 (192.0.2.7): address not on this host (EADDRNOTAVAIL)").
// Blocking system calls: the main thread only, never a shard's.
absl::StatusOr<std::shared_ptr<const delivery::EgressConfig>> BuildEgressConfig(
    const delivery::EgressFlags& flags);

// SIGHUP: the egress flags of the command line as given at start (`args`, argv[0] first),
// its flagfiles read again, through BuildEgressConfig. InvalidArgument names the flag (or
// flagfile) that is wrong.
absl::StatusOr<std::shared_ptr<const delivery::EgressConfig>> ReadEgressReload(
    const std::vector<std::string>& args);

}  // namespace tern::tools::ternd
