// The answers a Resolver delivers: the mail exchangers of a domain (MxResult) and the
// addresses of a host (AddressResult). Plain values, cheap to copy, safe to keep.
//
//   resolver->ResolveMx("example.com", [](absl::StatusOr<dns::MxResult> mx) {
//     if (mx.ok() && mx->null_mx) { /* RFC 7505: bounce at once */ }
//     for (const dns::MxHost& host : mx->hosts) { /* try in this order */ }
//   });
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace tern::net::dns {

// One mail exchanger: a host name (lower case, no trailing dot) and its preference.
struct MxHost {
  uint16_t preference = 0;
  std::string host;
};

struct MxResult {
  // In the order to try them: by preference, ties in random order (RFC 5321 §5.1). Empty
  // when null_mx is set.
  std::vector<MxHost> hosts;
  // RFC 7505: the domain published a single MX with host "." — it accepts no mail.
  bool null_mx = false;
  // RFC 5321 §5.1: no MX but A/AAAA records, so the domain itself is the only host
  // (preference 0).
  bool implicit = false;
  // How long the answer may be reused (the minimum of the records' TTLs).
  absl::Duration ttl = absl::ZeroDuration();
};

struct AddressResult {
  std::vector<in_addr> ipv4;
  std::vector<in6_addr> ipv6;
  absl::Duration ttl = absl::ZeroDuration();

  bool empty() const { return ipv4.empty() && ipv6.empty(); }
  // Every address as a sockaddr (sockaddr_in or sockaddr_in6) with `port`, IPv6 first.
  std::vector<sockaddr_storage> Sockaddrs(uint16_t port) const;
  // "192.0.2.1,2001:db8::1" (for logs and tests).
  std::string ToString() const;
};

}  // namespace tern::net::dns
