// RelayPolicy: who may relay through Tern and for which domains anyone may send to it.
//
// Mail is relayed only for clients in `relay_networks` (or authenticated ones); mail for
// `relay_domains` is accepted from anyone (DESIGN.md, Access). Built once at start-up from
// flags, then read-only and shared by all shards.
//
//   ASSIGN_OR_RETURN(RelayPolicy policy,
//                    RelayPolicy::Create({"127.0.0.0/8", "::1/128"}, {"example.com",
//                    ".example.net"}));
//   bool may_relay = policy.ClientMayRelay(peer_sockaddr);
//   ...
//   switch (DecideRecipient(&policy, may_relay, /*authenticated=*/false, local, domain)) ...
//
// Networks are CIDR blocks ("192.0.2.0/24", "2001:db8::/32"; no prefix means a single host).
// Host bits below the prefix are ignored. An IPv4-mapped IPv6 client (::ffff:192.0.2.1)
// matches the IPv4 blocks. Domains match case-insensitively and exactly; an entry with a
// leading "." matches every subdomain of it (".example.net" matches "a.example.net" but not
// "example.net").
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace tern::net::smtp {

class RelayPolicy {
 public:
  // An empty policy: nobody may relay, no relay domains.
  RelayPolicy() = default;

  // InvalidArgument naming the entry when a network or domain does not parse.
  static absl::StatusOr<RelayPolicy> Create(absl::Span<const std::string> relay_networks,
                                            absl::Span<const std::string> relay_domains);
  // Same, from comma-separated flag values ("127.0.0.0/8,::1/128"); spaces are ignored.
  static absl::StatusOr<RelayPolicy> FromFlags(absl::string_view relay_networks,
                                               absl::string_view relay_domains);

  // True if the client's address is inside one of the relay networks.
  bool ClientMayRelay(const sockaddr_storage& address) const;
  // Same for a textual address ("192.0.2.1", "2001:db8::1"); false if it does not parse.
  bool ClientMayRelay(absl::string_view address) const;
  // True if mail for `domain` is accepted from anyone.
  bool IsRelayDomain(absl::string_view domain) const;

 private:
  struct Net4 {
    uint32_t network;  // host order, host bits cleared
    uint32_t mask;
  };
  struct Net6 {
    std::array<uint8_t, 16> network;  // host bits cleared
    int prefix_bits;
  };
  bool MatchV4(uint32_t address) const;
  bool MatchV6(const uint8_t* address) const;
  absl::Status AddNetwork(absl::string_view cidr);
  absl::Status AddDomain(absl::string_view domain);

  std::vector<Net4> nets4_;
  std::vector<Net6> nets6_;
  absl::flat_hash_set<std::string> domains_;   // lowercase, exact
  absl::flat_hash_set<std::string> suffixes_;  // lowercase, with the leading "."
};

enum class RecipientVerdict {
  kAccept,
  kRelayDenied,  // 554 5.7.1 Relay access denied
};

// The RCPT decision: accept if the client may relay or is authenticated, or if `domain` is
// a relay domain. For a client that may not relay, a local part containing '%', '!' or '@'
// (after dequoting) is denied even for a relay domain: the percent hack and bang paths are
// never honoured. `policy` may be null (no relay domains).
RecipientVerdict DecideRecipient(const RelayPolicy* policy, bool client_may_relay,
                                 bool authenticated, absl::string_view local_part,
                                 absl::string_view domain);

}  // namespace tern::net::smtp
