// Implementation of tools/ternd/egress_flags.h.
#include "tools/ternd/egress_flags.h"

#include <optional>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "delivery/source_bind_check.h"
#include "net/listen_socket.h"
#include "tools/ternd/command_line.h"
#include "tools/ternd/flags.h"

namespace tern::tools::ternd {

delivery::EgressFlags EgressFlagsFromCommandLine() {
  delivery::EgressFlags flags;
  flags.sources = absl::GetFlag(FLAGS_egress_source);
  flags.pools = absl::GetFlag(FLAGS_egress_pool);
  flags.default_pool = absl::GetFlag(FLAGS_default_pool);
  flags.sender_pools = absl::GetFlag(FLAGS_sender_pool);
  flags.pool_header = absl::GetFlag(FLAGS_pool_header);
  return flags;
}

delivery::EgressFlags EgressFlagsFromPrepared(const std::vector<std::string>& prepared) {
  delivery::EgressFlags flags;
  flags.sources = ListFlagValue(prepared, "egress_source");
  flags.pools = ListFlagValue(prepared, "egress_pool");
  flags.default_pool = LastFlagValue(prepared, "default_pool");
  flags.sender_pools = ListFlagValue(prepared, "sender_pool");
  if (std::optional<std::string> header = FindLastFlagValue(prepared, "pool_header")) {
    flags.pool_header = *std::move(header);
  }
  return flags;
}

absl::StatusOr<std::shared_ptr<const delivery::EgressConfig>> BuildEgressConfig(
    const delivery::EgressFlags& flags) {
  absl::StatusOr<std::shared_ptr<const delivery::EgressConfig>> egress =
      delivery::EgressConfig::Parse(flags);
  if (!egress.ok()) return egress.status();
  for (const delivery::EgressSource& source : (*egress)->sources()) {
    if (absl::Status bindable = delivery::CheckSourceBindable(source); !bindable.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--egress_source=", source.name, "=",
                                                     net::FormatIpAddress(source.address), ": ",
                                                     bindable.message()));
    }
  }
  return egress;
}

absl::StatusOr<std::shared_ptr<const delivery::EgressConfig>> ReadEgressReload(
    const std::vector<std::string>& args) {
  absl::StatusOr<std::vector<std::string>> prepared = PrepareSavedCommandLine(args);
  if (!prepared.ok()) return prepared.status();
  return BuildEgressConfig(EgressFlagsFromPrepared(*prepared));
}

}  // namespace tern::tools::ternd
