// Implementation of tools/ternd/egress_flags.h.
#include "tools/ternd/egress_flags.h"

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "delivery/source_bind_check.h"
#include "net/listen_socket.h"
#include "tools/ternd/flags.h"

namespace tern::ternd {

delivery::EgressFlags EgressFlagsFromCommandLine() {
  delivery::EgressFlags flags;
  flags.sources = absl::GetFlag(FLAGS_egress_source);
  flags.pools = absl::GetFlag(FLAGS_egress_pool);
  flags.default_pool = absl::GetFlag(FLAGS_default_pool);
  flags.sender_pools = absl::GetFlag(FLAGS_sender_pool);
  flags.pool_header = absl::GetFlag(FLAGS_pool_header);
  return flags;
}

absl::StatusOr<std::shared_ptr<const delivery::EgressConfig>> BuildEgressConfig() {
  absl::StatusOr<std::shared_ptr<const delivery::EgressConfig>> egress =
      delivery::EgressConfig::Parse(EgressFlagsFromCommandLine());
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

}  // namespace tern::ternd
