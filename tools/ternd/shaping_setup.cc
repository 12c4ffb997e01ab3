// Implementation of tools/ternd/shaping_setup.h.
#include "tools/ternd/shaping_setup.h"

#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/log.h"
#include "queue/shaping_policy_file.h"

namespace tern::tools::ternd {

namespace {

absl::flat_hash_set<std::string> SourceNames(const delivery::EgressConfig& egress) {
  absl::flat_hash_set<std::string> names;
  for (const delivery::EgressSource& source : egress.sources()) names.insert(source.name);
  return names;
}

}  // namespace

std::string ShapingStateFile(absl::string_view spool_dir) {
  return absl::StrCat(spool_dir, "/shaping-state.jsonl");
}

absl::StatusOr<std::shared_ptr<const queue::ShapingPolicy>> ReadShapingPolicyFile(
    const std::string& path, const delivery::EgressConfig& egress) {
  absl::StatusOr<queue::ShapingPolicy> policy = queue::LoadShapingPolicy(path);
  if (!policy.ok()) return policy.status();
  if (absl::Status valid = policy->Validate(SourceNames(egress)); !valid.ok()) return valid;
  return std::make_shared<const queue::ShapingPolicy>(*std::move(policy));
}

std::vector<std::string> ProblemLines(const absl::Status& status) {
  return absl::StrSplit(status.message(), '\n', absl::SkipWhitespace());
}

absl::Status CheckShapingKeepsEgressSources(const std::string& path,
                                            const queue::ShapingPolicy& running,
                                            const delivery::EgressConfig& egress) {
  if (path.empty() || ReadShapingPolicyFile(path, egress).ok()) return absl::OkStatus();
  const absl::Status kept = running.Validate(SourceNames(egress));
  if (kept.ok()) return absl::OkStatus();
  const std::vector<std::string> lines = ProblemLines(kept);
  return absl::InvalidArgumentError(absl::StrCat(
      "the shaping policy in force (", path, ") would name egress sources the new flags lack (",
      lines.size(), " problem(s)), and its file does not load against them either: ",
      lines.empty() ? "" : lines.front()));
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

}  // namespace tern::tools::ternd
