// Implementation of delivery/lane.h.
#include "delivery/lane.h"

#include "absl/strings/str_cat.h"

namespace tern::delivery {

std::string Lane::DestinationName() const {
  std::string name;
  if (!nexthop.mx_lookup) {
    name = absl::StrCat("[", nexthop.host, "]:", nexthop.port);
  } else if (nexthop.port != 25) {
    name = absl::StrCat(nexthop.host, ":", nexthop.port, " (MX)");
  } else {
    name = absl::StrCat(nexthop.host, " (MX)");
  }
  // A routed domain with a lane of its own, and a source other than the kernel's address.
  if (!nexthop.mx_lookup && !domain.empty()) absl::StrAppend(&name, " for ", domain);
  if (!source.empty()) absl::StrAppend(&name, " from ", source);
  return name;
}

std::string LaneKey(const Nexthop& nexthop) {
  return absl::StrCat(nexthop.mx_lookup ? "mx:" : "host:", nexthop.host, ":", nexthop.port);
}

}  // namespace tern::delivery
