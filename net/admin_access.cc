// Implementation of net/admin_access.h.
#include "net/admin_access.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace tern::net {
namespace {

constexpr const char* kText = "text/plain; charset=utf-8";

AdminRefusal Refuse(int status, std::string body, std::string reason) {
  return {HttpResponse{status, kText, std::move(body)}, std::move(reason)};
}

// The host of a Host value ("relay:9025" -> "relay", "[::1]:9025" -> "::1"), lower case,
// without a trailing dot, and whether it was bracketed; nullopt when it is malformed.
struct HostPart {
  std::string host;
  bool bracketed = false;
};
std::optional<HostPart> SplitHost(absl::string_view value) {
  HostPart part;
  absl::string_view port;
  if (absl::ConsumePrefix(&value, "[")) {
    const size_t close = value.find(']');
    if (close == absl::string_view::npos) return std::nullopt;
    part.host = std::string(value.substr(0, close));
    part.bracketed = true;
    value.remove_prefix(close + 1);
    if (!value.empty() && !absl::ConsumePrefix(&value, ":")) return std::nullopt;
    port = value;
  } else {
    const size_t colon = value.find(':');
    part.host = std::string(value.substr(0, colon));
    if (colon != absl::string_view::npos) {
      port = value.substr(colon + 1);
      if (port.empty()) return std::nullopt;
    }
  }
  if (port.size() > 5 || port.find_first_not_of("0123456789") != absl::string_view::npos) {
    return std::nullopt;
  }
  absl::AsciiStrToLower(&part.host);
  if (!part.bracketed && absl::EndsWith(part.host, ".")) part.host.pop_back();
  if (part.host.empty()) return std::nullopt;
  return part;
}

// The address of an IP literal host, formatted as FormatIpAddress does; nullopt for a name.
std::optional<std::string> IpLiteral(const HostPart& part) {
  auto address = ParseSocketAddress(part.bracketed ? absl::StrCat("[", part.host, "]:0")
                                                   : absl::StrCat(part.host, ":0"));
  if (!address.ok()) return std::nullopt;
  // An IPv6 address needs its brackets, and an IPv4 one must not have them.
  if ((address->storage.ss_family == AF_INET6) != part.bracketed) return std::nullopt;
  return FormatIpAddress(address->storage);
}

bool IsWildcard(const SocketAddress& address) {
  if (address.storage.ss_family == AF_INET) {
    return reinterpret_cast<const sockaddr_in*>(&address.storage)->sin_addr.s_addr == INADDR_ANY;
  }
  const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&address.storage);
  return IN6_IS_ADDR_UNSPECIFIED(&v6->sin6_addr);
}

// "Bearer TOKEN" (the scheme in any case, RFC 9110 §11.1): TOKEN, or empty.
absl::string_view BearerToken(const HttpRequestHead& head) {
  absl::string_view value = head.Find("authorization").value_or("");
  constexpr absl::string_view kScheme = "bearer ";
  if (value.size() <= kScheme.size() ||
      !absl::EqualsIgnoreCase(value.substr(0, kScheme.size()), kScheme)) {
    return {};
  }
  return absl::StripLeadingAsciiWhitespace(value.substr(kScheme.size()));
}

}  // namespace

AdminAccess::AdminAccess(const SocketAddress& listen, AdminAccessOptions options)
    : listen_ip_(absl::AsciiStrToLower(FormatIpAddress(listen.storage))),
      listen_wildcard_(IsWildcard(listen)),
      token_(std::move(options.token)) {
  for (std::string& name : options.host_names) {
    absl::AsciiStrToLower(&name);
    if (absl::EndsWith(name, ".")) name.pop_back();
    if (!name.empty()) host_names_.push_back(std::move(name));
  }
}

bool AdminAccess::IsAcceptedHost(absl::string_view host) const {
  std::optional<HostPart> part = SplitHost(host);
  if (!part.has_value()) return false;
  if (part->host == "localhost") return true;
  if (std::find(host_names_.begin(), host_names_.end(), part->host) != host_names_.end()) {
    return true;
  }
  std::optional<std::string> ip = IpLiteral(*part);
  return ip.has_value() && (listen_wildcard_ || *ip == listen_ip_);
}

bool AdminAccess::HasToken(const HttpRequestHead& head) const {
  return !token_.empty() && ConstantTimeEquals(BearerToken(head), token_);
}

std::optional<AdminRefusal> AdminAccess::Check(const HttpRequestHead& head) const {
  if (head.method != "GET" && head.method != "POST") {
    AdminRefusal refusal = Refuse(405, "only GET and POST are supported (no CORS preflight)\n",
                                  absl::StrCat("method ", head.method));
    refusal.response.headers.emplace_back("Allow", "GET, POST");
    return refusal;
  }
  const std::optional<absl::string_view> host = head.Find("host");
  if (!host.has_value() && head.version != "HTTP/1.0") {
    return Refuse(400, "an HTTP/1.1 request needs a Host header\n", "HTTP/1.1 without Host");
  }
  if (host.has_value() && !IsAcceptedHost(*host)) {
    return Refuse(421,
                  "this admin endpoint does not answer for that Host: use its address, "
                  "localhost, or a name listed in ternd's --admin_hosts\n",
                  absl::StrCat("Host: ", host->substr(0, 100), " is not this endpoint"));
  }
  const bool has_token = HasToken(head);
  if (!token_.empty() && !has_token && !(head.method == "GET" && head.path() == "/healthz")) {
    AdminRefusal refusal =
        Refuse(401,
               "this admin endpoint needs the header 'Authorization: Bearer TOKEN' (the "
               "token is in ternd's --admin_token_file)\n",
               head.Find("authorization").has_value() ? "wrong bearer token" : "no bearer token");
    refusal.response.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"ternd\"");
    return refusal;
  }
  if (head.method != "POST") return std::nullopt;
  if (const std::optional<absl::string_view> origin = head.Find("origin")) {
    const bool same =
        host.has_value() && (absl::EqualsIgnoreCase(*origin, absl::StrCat("http://", *host)) ||
                             absl::EqualsIgnoreCase(*origin, absl::StrCat("https://", *host)));
    if (!same) {
      return Refuse(403, "cross-origin changes are refused (the Origin is not this endpoint)\n",
                    absl::StrCat("POST from Origin ", origin->substr(0, 100)));
    }
  }
  if (!has_token && head.Find("x-tern-request") != "1") {
    return Refuse(403,
                  "changes need the header 'X-Tern-Request: 1' (ternctl sends it) or "
                  "'Authorization: Bearer TOKEN'\n",
                  "POST without X-Tern-Request");
  }
  return std::nullopt;
}

bool IsLoopbackAddress(const SocketAddress& address) {
  if (address.storage.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&address.storage);
    return (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
  }
  if (address.storage.ss_family != AF_INET6) return false;
  const in6_addr& v6 = reinterpret_cast<const sockaddr_in6*>(&address.storage)->sin6_addr;
  return IN6_IS_ADDR_LOOPBACK(&v6) || (IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127);
}

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  // Every byte of the longer one is looked at, whatever differs first.
  const size_t length = std::max(a.size(), b.size());
  unsigned char difference = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < length; ++i) {
    const auto x = static_cast<unsigned char>(i < a.size() ? a[i] : 0);
    const auto y = static_cast<unsigned char>(i < b.size() ? b[i] : 0);
    difference |= x ^ y;
  }
  return difference == 0;
}

}  // namespace tern::net
