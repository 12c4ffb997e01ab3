// WebhookUrl: the operator's webhook address, http://host[:port]/path or https://...,
// with an IPv6 literal in brackets (https://[2001:db8::1]:8443/hook). No user info, no
// fragment; the query stays part of the request target.
//
//   ASSIGN_OR_RETURN(events::WebhookUrl url, events::ParseWebhookUrl(flag_value));
//   url.tls; url.host;  // "2001:db8::1" (no brackets); url.port; url.target ("/hook?x=1")
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tern::events {

inline constexpr size_t kWebhookUrlBytesMax = 2048;

struct WebhookUrl {
  bool tls = false;
  std::string host;  // a name, an IPv4 literal, or an IPv6 literal without brackets
  bool host_is_ipv6_literal = false;
  uint16_t port = 0;   // 80 or 443 unless given
  std::string target;  // path and query, "/" at least
  // The Host header's value: host, bracketed if IPv6, with ":port" when not the default.
  std::string HostHeader() const;
};

// InvalidArgument naming what is wrong ("webhook URL: port 99999 out of range").
absl::StatusOr<WebhookUrl> ParseWebhookUrl(absl::string_view text);

}  // namespace tern::events
