// Parsing the webhook's URL (events/webhook_url.h).
#include "events/webhook_url.h"

#include <arpa/inet.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace tern::events {
namespace {

absl::Status Invalid(absl::string_view what, absl::string_view text) {
  return absl::InvalidArgumentError(absl::StrCat("webhook URL \"", text, "\": ", what));
}

bool ValidHostName(absl::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  for (char c : host) {
    if (!absl::ascii_isalnum(c) && c != '-' && c != '.' && c != '_') return false;
  }
  return true;
}

bool ValidTarget(absl::string_view target) {
  for (char c : target) {
    // Printable ASCII without space; '#' starts a fragment, which is not sent.
    if (c <= 0x20 || c >= 0x7f || c == '#') return false;
  }
  return true;
}

}  // namespace

std::string WebhookUrl::HostHeader() const {
  std::string header = host_is_ipv6_literal ? absl::StrCat("[", host, "]") : host;
  if (port != (tls ? 443 : 80)) absl::StrAppend(&header, ":", port);
  return header;
}

absl::StatusOr<WebhookUrl> ParseWebhookUrl(absl::string_view text) {
  if (text.size() > kWebhookUrlBytesMax)
    return Invalid("longer than 2048 bytes", text.substr(0, 64));
  WebhookUrl url;
  absl::string_view rest = text;
  if (absl::ConsumePrefix(&rest, "https://")) {
    url.tls = true;
  } else if (!absl::ConsumePrefix(&rest, "http://")) {
    return Invalid("must start with http:// or https://", text);
  }
  size_t slash = rest.find_first_of("/?");
  absl::string_view authority = rest.substr(0, slash);
  absl::string_view target = slash == absl::string_view::npos ? "" : rest.substr(slash);
  if (authority.find('@') != absl::string_view::npos) return Invalid("user info not allowed", text);
  absl::string_view port_text;
  if (absl::ConsumePrefix(&authority, "[")) {
    size_t close = authority.find(']');
    if (close == absl::string_view::npos) return Invalid("unclosed '[' in the host", text);
    url.host = std::string(authority.substr(0, close));
    in6_addr address;
    if (inet_pton(AF_INET6, url.host.c_str(), &address) != 1) {
      return Invalid("not an IPv6 address in brackets", text);
    }
    url.host_is_ipv6_literal = true;
    authority.remove_prefix(close + 1);
    if (!authority.empty() && !absl::ConsumePrefix(&authority, ":")) {
      return Invalid("unexpected text after ']'", text);
    }
    port_text = authority;
    if (port_text.empty() && absl::EndsWith(rest.substr(0, slash), ":")) {
      return Invalid("empty port", text);
    }
  } else {
    size_t colon = authority.find(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != absl::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return Invalid("empty port", text);
    }
    if (!ValidHostName(url.host)) return Invalid("missing or invalid host", text);
  }
  url.port = url.tls ? 443 : 80;
  if (!port_text.empty()) {
    uint32_t port = 0;
    bool digits = std::all_of(port_text.begin(), port_text.end(),
                              [](char c) { return absl::ascii_isdigit(c); });
    if (!digits || port_text.size() > 5 || !absl::SimpleAtoi(port_text, &port) || port == 0 ||
        port > 65535) {
      return Invalid(absl::StrCat("port ", port_text, " out of range (1-65535)"), text);
    }
    url.port = static_cast<uint16_t>(port);
  }
  url.target = target.empty() ? "/" : std::string(target);
  if (url.target.front() == '?') url.target = absl::StrCat("/", url.target);
  if (!ValidTarget(url.target)) return Invalid("path has spaces, controls or a fragment", text);
  return url;
}

}  // namespace tern::events
