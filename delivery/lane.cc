// Implementation of delivery/lane.h.
#include "delivery/lane.h"

#include "absl/strings/str_cat.h"

namespace tern::delivery {

std::string Lane::DestinationName() const {
  if (!nexthop.mx_lookup) return absl::StrCat("[", nexthop.host, "]:", nexthop.port);
  if (nexthop.port != 25) return absl::StrCat(nexthop.host, ":", nexthop.port, " (MX)");
  return absl::StrCat(nexthop.host, " (MX)");
}

std::string LaneKey(const Nexthop& nexthop) {
  return absl::StrCat(nexthop.mx_lookup ? "mx:" : "host:", nexthop.host, ":", nexthop.port);
}

}  // namespace tern::delivery
