// Implementation of delivery/tls_policy_table.h.
#include "delivery/tls_policy_table.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace tern::delivery {

absl::StatusOr<net::smtp::StartTlsPolicy> ParseStartTlsPolicy(absl::string_view level) {
  if (level == "off") return net::smtp::StartTlsPolicy::kNever;
  if (level == "opportunistic") return net::smtp::StartTlsPolicy::kOpportunistic;
  if (level == "required") return net::smtp::StartTlsPolicy::kRequired;
  return absl::InvalidArgumentError(
      absl::StrCat("'", level, "' is not off, opportunistic or required"));
}

absl::StatusOr<TlsPolicyTable> TlsPolicyTable::Create(absl::string_view default_level,
                                                      const std::vector<std::string>& entries) {
  TlsPolicyTable table;
  absl::StatusOr<net::smtp::StartTlsPolicy> fallback = ParseStartTlsPolicy(default_level);
  if (!fallback.ok()) return fallback.status();
  table.default_ = *fallback;
  for (const std::string& flag_value : entries) {
    for (absl::string_view entry : absl::StrSplit(flag_value, ',', absl::SkipWhitespace())) {
      entry = absl::StripAsciiWhitespace(entry);
      const size_t eq = entry.find('=');
      if (eq == absl::string_view::npos || eq == 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("'", entry, "': want NEXTHOP=off|opportunistic|required"));
      }
      absl::StatusOr<net::smtp::StartTlsPolicy> policy = ParseStartTlsPolicy(entry.substr(eq + 1));
      if (!policy.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("'", entry, "': ", policy.status().message()));
      }
      std::string host = absl::AsciiStrToLower(entry.substr(0, eq));
      if (host[0] == '.') {
        if (host.size() == 1) return absl::InvalidArgumentError(absl::StrCat("'", entry, "'"));
        table.parents_[host.substr(1)] = *policy;
      } else {
        table.exact_[host] = *policy;
      }
    }
  }
  return table;
}

net::smtp::StartTlsPolicy TlsPolicyTable::Lookup(absl::string_view nexthop) const {
  const std::string lower = absl::AsciiStrToLower(nexthop);
  if (auto it = exact_.find(lower); it != exact_.end()) return it->second;
  absl::string_view rest = lower;
  // Longest parent first: a.b.example.com -> b.example.com -> example.com.
  for (size_t dot = rest.find('.'); dot != absl::string_view::npos; dot = rest.find('.')) {
    rest.remove_prefix(dot + 1);
    if (auto it = parents_.find(rest); it != parents_.end()) return it->second;
  }
  return default_;
}

}  // namespace tern::delivery
