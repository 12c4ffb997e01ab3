// CompileAutomationRules: the automation rules that apply to a lane (as the policy file
// wrote them, queue/shaping_policy.h) turned into one ReplyRuleMatcher (RE2, compiled once),
// and a cache of them per rule list, so the thousands of lanes that share a provider's
// rules share one compiled matcher. The cache belongs to one policy: clear it (or make a
// new one) when the policy changes.
//
//   AutomationRuleCache cache;
//   std::shared_ptr<const ReplyRuleMatcher> m = cache.Get(resolved.rules);  // null: no rules
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "queue/reply_rule.h"
#include "queue/reply_rule_matcher.h"
#include "queue/shaping_policy.h"

namespace tern::queue {

// The plain rule of one spec (name "FILE:LINE", regexes, trigger, actions, ramp-up).
ReplyRule ToReplyRule(const AutomationRuleSpec& spec);

absl::StatusOr<std::shared_ptr<const ReplyRuleMatcher>> CompileAutomationRules(
    const std::vector<const AutomationRuleSpec*>& specs);

class AutomationRuleCache {
 public:
  static constexpr size_t kEntriesMax = 10'000;
  // The matcher of `specs` (null when there are none, or when they cannot be compiled,
  // which the policy reader's RE2 check makes impossible: logged).
  std::shared_ptr<const ReplyRuleMatcher> Get(const std::vector<const AutomationRuleSpec*>& specs);
  void Clear() { by_specs_.clear(); }
  size_t size() const { return by_specs_.size(); }

 private:
  absl::flat_hash_map<std::string, std::shared_ptr<const ReplyRuleMatcher>> by_specs_;
};

}  // namespace tern::queue
