// The shaping policy file (--shaping=FILE) as ternd uses it: read and checked at start, by
// --check_config and again on SIGHUP, and the state file's place next to the spool.
//
//   auto policy = ReadShapingPolicyFile("/etc/tern/shaping.toml", *config.egress);
//   if (!policy.ok()) for (auto& line : ProblemLines(policy.status())) print(line);
//   ReloadShapingPolicy(path, *config.egress, shaping);   // SIGHUP: logs what it did
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "delivery/egress_config.h"
#include "queue/shaping_policy.h"
#include "queue/shaping_state.h"

namespace tern::tools::ternd {

// The overrides' state file: "<spool_dir>/shaping-state.jsonl".
std::string ShapingStateFile(absl::string_view spool_dir);

// LoadShapingPolicy, then Validate against the egress sources of `egress`. On any problem:
// InvalidArgument listing every one, one per line ("FILE:LINE: KEY: what").
absl::StatusOr<std::shared_ptr<const queue::ShapingPolicy>> ReadShapingPolicyFile(
    const std::string& path, const delivery::EgressConfig& egress);

// The lines of a multi-line error message, empty ones dropped.
std::vector<std::string> ProblemLines(const absl::Status& status);

// SIGHUP, before egress sources read again (`egress`) replace the running ones: OK when
// the shaping policy in force after this SIGHUP names only sources of `egress`, that is
// when the file at `path` read again loads against them (it will replace the running
// policy), or else when `running` (which then stays) does. Otherwise InvalidArgument naming
// the first source of `running` that `egress` lacks: the new sources are refused together
// with the file. OK without a policy file (`path` empty).
absl::Status CheckShapingKeepsEgressSources(const std::string& path,
                                            const queue::ShapingPolicy& running,
                                            const delivery::EgressConfig& egress);

// SIGHUP: reads `path` again. A bad file keeps the running policy and logs every problem
// (kError, one line each); a good one replaces the policy ("SIGHUP: shaping policy FILE
// reloaded (N blocks)"). Returns whether the policy was replaced.
bool ReloadShapingPolicy(const std::string& path, const delivery::EgressConfig& egress,
                         queue::ShapingState* shaping);

}  // namespace tern::tools::ternd
