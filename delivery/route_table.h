// RouteTable: where mail for a recipient domain goes, from --route and --smarthost.
//
//   --route=example.com=[127.0.0.1]:2526   brackets: that host, no MX lookup (Postfix's rule)
//   --route=.example.com=relay.example.net  subdomains; no brackets: MX lookup of that name
//   --smarthost=[10.0.0.5]:587              everything not routed; otherwise MX of the domain
//
// Matching is case-insensitive: an exact domain entry wins over a ".parent" entry, the
// longest parent wins among those, then the smarthost.
//
//   ASSIGN_OR_RETURN(RouteTable routes, RouteTable::Create({"example.com=[127.0.0.1]:2526"}, ""));
//   Nexthop next = routes.Lookup("example.com");  // {host "127.0.0.1", port 2526, mx false}
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tern::delivery {

struct Nexthop {
  std::string host;  // a host name or an IP literal (no brackets)
  uint16_t port = 25;
  bool mx_lookup = true;  // false: connect to `host` itself (A/AAAA or literal)
  bool operator==(const Nexthop&) const = default;
};

// Parses "[HOST]:PORT", "HOST:PORT", "[HOST]", "HOST" (IPv6 literals only in brackets).
absl::StatusOr<Nexthop> ParseNexthop(absl::string_view text);

class RouteTable {
 public:
  // `routes`: "DOMAIN=NEXTHOP" entries (flag values, each possibly comma-separated).
  // `smarthost`: a NEXTHOP, or empty. InvalidArgument names the bad entry.
  static absl::StatusOr<RouteTable> Create(const std::vector<std::string>& routes,
                                           absl::string_view smarthost);
  // Where mail for `domain` goes: a route, else the smarthost, else the domain's own MX.
  Nexthop Lookup(absl::string_view domain) const;
  size_t size() const { return exact_.size() + parents_.size(); }
  bool has_smarthost() const { return smarthost_.has_value(); }

 private:
  absl::flat_hash_map<std::string, Nexthop> exact_;    // "example.com"
  absl::flat_hash_map<std::string, Nexthop> parents_;  // "example.com" from ".example.com"
  std::optional<Nexthop> smarthost_;
};

}  // namespace tern::delivery
