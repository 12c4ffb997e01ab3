// Implementation of net/dns/dns_result.h: address conversions.
#include "net/dns/dns_result.h"

#include <arpa/inet.h>

#include <cstring>

namespace tern::net::dns {

std::vector<sockaddr_storage> AddressResult::Sockaddrs(uint16_t port) const {
  std::vector<sockaddr_storage> out;
  out.reserve(ipv4.size() + ipv6.size());
  for (const in6_addr& a : ipv6) {
    sockaddr_storage ss{};
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    sin6->sin6_addr = a;
    out.push_back(ss);
  }
  for (const in_addr& a : ipv4) {
    sockaddr_storage ss{};
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    sin->sin_addr = a;
    out.push_back(ss);
  }
  return out;
}

std::string AddressResult::ToString() const {
  std::string out;
  char text[INET6_ADDRSTRLEN];
  for (const in_addr& a : ipv4) {
    if (!out.empty()) out += ',';
    out += inet_ntop(AF_INET, &a, text, sizeof(text));
  }
  for (const in6_addr& a : ipv6) {
    if (!out.empty()) out += ',';
    out += inet_ntop(AF_INET6, &a, text, sizeof(text));
  }
  return out;
}

}  // namespace tern::net::dns
