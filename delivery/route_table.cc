// Implementation of delivery/route_table.h.
#include "delivery/route_table.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace tern::delivery {
namespace {

bool ValidHostText(absl::string_view host) {
  if (host.empty() || host.size() > 255) return false;
  for (char c : host) {
    if (!(absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == ':')) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<Nexthop> ParseNexthop(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  Nexthop next;
  absl::string_view host = text;
  absl::string_view port;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("'", text, "': missing ']'"));
    }
    host = text.substr(1, close - 1);
    absl::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return absl::InvalidArgumentError(absl::StrCat("'", text, "': junk after ']'"));
      }
      port = rest.substr(1);
    }
    next.mx_lookup = false;
  } else {
    const size_t colon = text.rfind(':');
    if (colon != absl::string_view::npos) {
      if (text.find(':') != colon) {
        return absl::InvalidArgumentError(
            absl::StrCat("'", text, "': an IPv6 address must be in brackets"));
      }
      host = text.substr(0, colon);
      port = text.substr(colon + 1);
    }
  }
  if (!ValidHostText(host)) {
    return absl::InvalidArgumentError(absl::StrCat("'", text, "': bad host"));
  }
  next.host = absl::AsciiStrToLower(host);
  if (!port.empty()) {
    uint32_t value = 0;
    if (!absl::SimpleAtoi(port, &value) || value == 0 || value > 65535) {
      return absl::InvalidArgumentError(absl::StrCat("'", text, "': bad port"));
    }
    next.port = static_cast<uint16_t>(value);
  }
  return next;
}

absl::StatusOr<RouteTable> RouteTable::Create(const std::vector<std::string>& routes,
                                              absl::string_view smarthost) {
  RouteTable table;
  for (const std::string& flag_value : routes) {
    for (absl::string_view entry : absl::StrSplit(flag_value, ',', absl::SkipWhitespace())) {
      const size_t eq = entry.find('=');
      if (eq == absl::string_view::npos) {
        return absl::InvalidArgumentError(
            absl::StrCat("route '", entry, "' is not DOMAIN=[HOST]:PORT"));
      }
      std::string domain = absl::AsciiStrToLower(absl::StripAsciiWhitespace(entry.substr(0, eq)));
      auto next = ParseNexthop(entry.substr(eq + 1));
      if (!next.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("route '", entry, "': ", next.status().message()));
      }
      const bool parent = !domain.empty() && domain.front() == '.';
      if (parent) domain.erase(0, 1);
      if (domain.empty() || !ValidHostText(domain)) {
        return absl::InvalidArgumentError(absl::StrCat("route '", entry, "': bad domain"));
      }
      (parent ? table.parents_ : table.exact_)[domain] = *next;
    }
  }
  if (!absl::StripAsciiWhitespace(smarthost).empty()) {
    auto next = ParseNexthop(smarthost);
    if (!next.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("smarthost: ", next.status().message()));
    }
    table.smarthost_ = *next;
  }
  return table;
}

Nexthop RouteTable::Lookup(absl::string_view domain) const {
  const std::string lower = absl::AsciiStrToLower(domain);
  if (auto it = exact_.find(lower); it != exact_.end()) return it->second;
  // Walk up the parents, longest first: a.b.example.com -> b.example.com -> example.com.
  absl::string_view rest = lower;
  for (size_t dot = rest.find('.'); dot != absl::string_view::npos; dot = rest.find('.')) {
    rest.remove_prefix(dot + 1);
    if (auto it = parents_.find(rest); it != parents_.end()) return it->second;
  }
  if (smarthost_.has_value()) return *smarthost_;
  Nexthop own;
  own.host = lower;
  own.mx_lookup = true;
  return own;
}

}  // namespace tern::delivery
