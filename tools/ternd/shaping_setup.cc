// Implementation of tools/ternd/shaping_setup.h.
#include "tools/ternd/shaping_setup.h"

#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/log.h"
#include "queue/shaping_policy_file.h"

namespace tern::ternd {

std::string ShapingStateFile(absl::string_view spool_dir) {
  return absl::StrCat(spool_dir, "/shaping-state.jsonl");
}

absl::StatusOr<std::shared_ptr<const queue::ShapingPolicy>> ReadShapingPolicyFile(
    const std::string& path, const delivery::EgressConfig& egress) {
  absl::StatusOr<queue::ShapingPolicy> policy = queue::LoadShapingPolicy(path);
  if (!policy.ok()) return policy.status();
  absl::flat_hash_set<std::string> sources;
  for (const delivery::EgressSource& source : egress.sources()) sources.insert(source.name);
  if (absl::Status valid = policy->Validate(sources); !valid.ok()) return valid;
  return std::make_shared<const queue::ShapingPolicy>(*std::move(policy));
}

std::vector<std::string> ProblemLines(const absl::Status& status) {
  return absl::StrSplit(status.message(), '\n', absl::SkipWhitespace());
}

bool ReloadShapingPolicy(const std::string& path, const delivery::EgressConfig& egress,
                         queue::ShapingState* shaping) {
  if (path.empty() || shaping == nullptr) return false;
  auto policy = ReadShapingPolicyFile(path, egress);
  if (!policy.ok()) {
    const std::vector<std::string> lines = ProblemLines(policy.status());
    TERN_LOG(kError,
             "SIGHUP: shaping policy %s not reloaded, the running one stays (%d problem(s))", path,
             lines.size());
    for (const std::string& line : lines) TERN_LOG(kError, "SIGHUP: shaping policy: %s", line);
    return false;
  }
  const size_t blocks = (*policy)->block_count();
  shaping->SetPolicy(*std::move(policy));
  TERN_LOG(kInfo, "SIGHUP: shaping policy %s reloaded (%d blocks)", path, blocks);
  return true;
}

}  // namespace tern::ternd
