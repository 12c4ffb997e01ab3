// TlsPolicyTable: the outbound STARTTLS policy per next hop (--outbound_tls for everything,
// --outbound_tls_policy=NEXTHOP=LEVEL for exceptions), as Postfix's smtp_tls_policy_maps
// keys it: NEXTHOP is what a lane delivers to, the recipient domain (MX delivery) or a
// route's or the smarthost's host; ".example.com" also matches its subdomains.
//
//   ASSIGN_OR_RETURN(auto table, TlsPolicyTable::Create("opportunistic",
//                                                       {"bank.example=required"}));
//   net::smtp::StartTlsPolicy p = table.Lookup("bank.example");   // kRequired
//
// Levels: "off" (never STARTTLS), "opportunistic" (when offered, RFC 7435), "required"
// (encryption or no delivery: the connection fails with 4.7.10 and the mail is deferred).
// Certificates are not verified at any level (as Postfix's "may" and "encrypt").
#pragma once

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "net/smtp/client_session.h"

namespace tern::delivery {

class TlsPolicyTable {
 public:
  // `default_level`: --outbound_tls; `entries`: "NEXTHOP=LEVEL", each possibly
  // comma-separated. InvalidArgument names the bad entry.
  static absl::StatusOr<TlsPolicyTable> Create(absl::string_view default_level,
                                               const std::vector<std::string>& entries);
  net::smtp::StartTlsPolicy Lookup(absl::string_view nexthop) const;

 private:
  net::smtp::StartTlsPolicy default_ = net::smtp::StartTlsPolicy::kOpportunistic;
  absl::flat_hash_map<std::string, net::smtp::StartTlsPolicy> exact_;
  absl::flat_hash_map<std::string, net::smtp::StartTlsPolicy> parents_;  // from ".example.com"
};

// "off", "opportunistic", "required" -> the policy; InvalidArgument otherwise.
absl::StatusOr<net::smtp::StartTlsPolicy> ParseStartTlsPolicy(absl::string_view level);

}  // namespace tern::delivery
