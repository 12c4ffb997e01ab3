// Implementation of net/smtp/relay_policy.h: linear scans over CIDR blocks (a relay host
// has a handful) and hash lookups of the domain and each of its parent suffixes.
#include "net/smtp/relay_policy.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "net/smtp/address.h"

namespace tern::net::smtp {
namespace {

bool ParseIp(absl::string_view text, int family, void* out) {
  char buf[INET6_ADDRSTRLEN + 1];
  if (text.empty() || text.size() >= sizeof(buf)) return false;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  return inet_pton(family, buf, out) == 1;
}

std::vector<std::string> SplitList(absl::string_view list) {
  std::vector<std::string> out;
  for (absl::string_view item : absl::StrSplit(list, absl::ByAnyChar(", \t"), absl::SkipEmpty())) {
    out.emplace_back(item);
  }
  return out;
}

constexpr uint8_t kV4MappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

}  // namespace

absl::StatusOr<RelayPolicy> RelayPolicy::Create(absl::Span<const std::string> relay_networks,
                                                absl::Span<const std::string> relay_domains) {
  RelayPolicy policy;
  for (const std::string& cidr : relay_networks) {
    absl::Status status = policy.AddNetwork(cidr);
    if (!status.ok()) return status;
  }
  for (const std::string& domain : relay_domains) {
    absl::Status status = policy.AddDomain(domain);
    if (!status.ok()) return status;
  }
  return policy;
}

absl::StatusOr<RelayPolicy> RelayPolicy::FromFlags(absl::string_view relay_networks,
                                                   absl::string_view relay_domains) {
  return Create(SplitList(relay_networks), SplitList(relay_domains));
}

absl::Status RelayPolicy::AddNetwork(absl::string_view cidr) {
  absl::string_view address = cidr;
  int prefix = -1;
  size_t slash = cidr.find('/');
  if (slash != absl::string_view::npos) {
    address = cidr.substr(0, slash);
    absl::string_view bits = cidr.substr(slash + 1);
    if (bits.empty() || bits.size() > 3 || !absl::SimpleAtoi(bits, &prefix) || prefix < 0 ||
        !absl::ascii_isdigit(bits[0])) {
      return absl::InvalidArgumentError(
          absl::StrCat("relay_networks: bad prefix in \"", cidr, "\""));
    }
  }
  in_addr v4;
  if (ParseIp(address, AF_INET, &v4)) {
    if (prefix > 32) {
      return absl::InvalidArgumentError(
          absl::StrCat("relay_networks: prefix > 32 in \"", cidr, "\""));
    }
    if (prefix < 0) prefix = 32;
    uint32_t mask = prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix);
    nets4_.push_back(Net4{ntohl(v4.s_addr) & mask, mask});
    return absl::OkStatus();
  }
  in6_addr v6;
  if (ParseIp(address, AF_INET6, &v6)) {
    if (prefix > 128) {
      return absl::InvalidArgumentError(
          absl::StrCat("relay_networks: prefix > 128 in \"", cidr, "\""));
    }
    if (prefix < 0) prefix = 128;
    Net6 net{{}, prefix};
    std::memcpy(net.network.data(), &v6, 16);
    for (int bit = prefix; bit < 128; ++bit) net.network[bit / 8] &= ~(0x80 >> (bit % 8));
    nets6_.push_back(net);
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat("relay_networks: bad address in \"", cidr, "\""));
}

absl::Status RelayPolicy::AddDomain(absl::string_view domain) {
  bool suffix = !domain.empty() && domain[0] == '.';
  absl::string_view name = suffix ? domain.substr(1) : domain;
  if (!IsValidDomain(name, /*smtputf8=*/true)) {
    return absl::InvalidArgumentError(absl::StrCat("relay_domains: bad domain \"", domain, "\""));
  }
  std::string lower = absl::AsciiStrToLower(domain);
  (suffix ? suffixes_ : domains_).insert(std::move(lower));
  return absl::OkStatus();
}

bool RelayPolicy::MatchV4(uint32_t address) const {
  for (const Net4& net : nets4_) {
    if ((address & net.mask) == net.network) return true;
  }
  return false;
}

bool RelayPolicy::MatchV6(const uint8_t* address) const {
  if (std::memcmp(address, kV4MappedPrefix, sizeof(kV4MappedPrefix)) == 0) {
    uint32_t v4;
    std::memcpy(&v4, address + 12, 4);
    if (MatchV4(ntohl(v4))) return true;
  }
  for (const Net6& net : nets6_) {
    int full = net.prefix_bits / 8, rest = net.prefix_bits % 8;
    if (std::memcmp(address, net.network.data(), full) != 0) continue;
    if (rest != 0) {
      uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
      if ((address[full] & mask) != net.network[full]) continue;
    }
    return true;
  }
  return false;
}

bool RelayPolicy::ClientMayRelay(const sockaddr_storage& address) const {
  if (address.ss_family == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(&address);
    return MatchV4(ntohl(sin->sin_addr.s_addr));
  }
  if (address.ss_family == AF_INET6) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&address);
    return MatchV6(sin6->sin6_addr.s6_addr);
  }
  return false;
}

bool RelayPolicy::ClientMayRelay(absl::string_view address) const {
  in_addr v4;
  if (ParseIp(address, AF_INET, &v4)) return MatchV4(ntohl(v4.s_addr));
  in6_addr v6;
  if (ParseIp(address, AF_INET6, &v6)) return MatchV6(v6.s6_addr);
  return false;
}

bool RelayPolicy::IsRelayDomain(absl::string_view domain) const {
  if (domain.empty() || domain.size() > kDomainBytesMax) return false;
  if (domains_.empty() && suffixes_.empty()) return false;
  char buf[kDomainBytesMax];
  for (size_t i = 0; i < domain.size(); ++i) buf[i] = absl::ascii_tolower(domain[i]);
  absl::string_view lower(buf, domain.size());
  if (domains_.contains(lower)) return true;
  // ".example.net" matches every name ending in it; try each parent at a label boundary.
  for (size_t dot = lower.find('.'); dot != absl::string_view::npos;
       dot = lower.find('.', dot + 1)) {
    if (suffixes_.contains(lower.substr(dot))) return true;
  }
  return false;
}

RecipientVerdict DecideRecipient(const RelayPolicy* policy, bool client_may_relay,
                                 bool authenticated, absl::string_view local_part,
                                 absl::string_view domain) {
  if (client_may_relay || authenticated) return RecipientVerdict::kAccept;
  // Percent hack ("user%other@relay"), bang paths ("host!user@relay") and dequoted '@' could
  // route mail onwards from a relay domain: never honoured for outside clients.
  if (local_part.find_first_of("%!@") != absl::string_view::npos) {
    return RecipientVerdict::kRelayDenied;
  }
  if (policy != nullptr && policy->IsRelayDomain(domain)) return RecipientVerdict::kAccept;
  return RecipientVerdict::kRelayDenied;
}

}  // namespace tern::net::smtp
