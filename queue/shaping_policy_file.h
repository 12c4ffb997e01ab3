// Reading the shaping policy file (--shaping=FILE, TOML) into a ShapingPolicy
// (queue/shaping_policy.h). The format, every key and the merge order are in README.md
// ("Shaping policy"); deploy/shaping.example.toml is a commented example.
//
//   absl::StatusOr<ShapingPolicy> policy = LoadShapingPolicy("/etc/tern/shaping.toml");
//   if (!policy.ok()) { print(policy.status().message()); }  // every problem, one per line:
//   // shaping.toml:7: domain."example.com".max_message_rate: bad rate '600/mn': ...
//   // shaping.toml:12: provider.google.automation.regex: missing parenthesis ...
//
// Nothing is half-read: on any problem the result is InvalidArgument listing every problem
// found (syntax errors stop the reading: "FILE:LINE:COLUMN: syntax error: ..."), at most
// kProblemsReportedMax of them. Source names are checked later, against the configured
// egress sources, by ShapingPolicy::Validate.
#pragma once

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "queue/shaping_policy.h"

namespace tern::queue {

inline constexpr size_t kShapingPolicyBytesMax = 4 << 20;  // 4 MiB
inline constexpr size_t kProblemsReportedMax = 200;

// Reads and parses `path`; errors name the path.
absl::StatusOr<ShapingPolicy> LoadShapingPolicy(const std::string& path);

// Parses `text`; `file_name` is what messages call it.
absl::StatusOr<ShapingPolicy> ParseShapingPolicy(absl::string_view text,
                                                 absl::string_view file_name);

}  // namespace tern::queue
