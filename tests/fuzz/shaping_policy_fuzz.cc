// libFuzzer entry point for the shaping policy reader (queue/shaping_policy_file.h):
// arbitrary bytes as a policy file. Must never crash nor run unbounded; a refusal lists
// problems that each name the file; an accepted policy resolves and validates.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "queue/shaping_policy_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  auto policy = tern::queue::ParseShapingPolicy(text, "fuzz.toml");
  if (!policy.ok()) {
    for (absl::string_view line : absl::StrSplit(policy.status().message(), '\n')) {
      if (!absl::StartsWith(line, "fuzz.toml") && !absl::StartsWith(line, "... and ")) {
        __builtin_trap();
      }
    }
    return 0;
  }
  const std::vector<std::string> mx = {"aspmx.l.google.com", "alt1.aspmx.l.google.com"};
  for (absl::string_view domain : {"example.com", "gmail.com", "x.googlemail.com", ""}) {
    const tern::queue::ResolvedShaping r = policy->Resolve(
        {.domain = domain, .site_key = "mx1.example.net", .mx_hosts = mx, .source = "ip2"});
    // The lane always has every limit the built-in defaults set.
    if (!r.lane.connection_limit.has_value() || !r.lane.max_deliveries_per_connection) {
      __builtin_trap();
    }
    if (r.provider != nullptr && r.provider_name != r.provider->name) __builtin_trap();
  }
  (void)policy->Validate({"ip1"});
  return 0;
}
