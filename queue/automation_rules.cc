// Implementation of queue/automation_rules.h.
#include "queue/automation_rules.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/log.h"

namespace tern::queue {

ReplyRule ToReplyRule(const AutomationRuleSpec& spec) {
  ReplyRule rule;
  rule.name = spec.origin.empty() ? std::string("automation rule") : spec.origin;
  rule.regex = spec.regex;
  rule.match_internal = spec.match_internal;
  if (spec.threshold.has_value()) {
    rule.trigger = ReplyRule::Threshold{.count = static_cast<uint32_t>(spec.threshold->count),
                                        .period = spec.threshold->period};
  }
  for (const AutomationAction& action : spec.actions) {
    switch (action.kind) {
      case AutomationAction::Kind::kSuspend:
        rule.actions.push_back(ReplyRule::Suspend{.duration = action.duration});
        break;
      case AutomationAction::Kind::kSet:
        rule.actions.push_back(
            ReplyRule::SetOptions{.options = action.options, .duration = action.duration});
        break;
      case AutomationAction::Kind::kBounce:
        rule.actions.push_back(ReplyRule::Bounce{});
        break;
    }
  }
  if (spec.ramp_up.has_value()) {
    rule.ramp_up = RampUp{.steps = spec.ramp_up->steps, .over = spec.ramp_up->over};
  }
  return rule;
}

absl::StatusOr<std::shared_ptr<const ReplyRuleMatcher>> CompileAutomationRules(
    const std::vector<const AutomationRuleSpec*>& specs) {
  std::vector<ReplyRule> rules;
  rules.reserve(specs.size());
  for (const AutomationRuleSpec* spec : specs) rules.push_back(ToReplyRule(*spec));
  absl::StatusOr<std::unique_ptr<ReplyRuleMatcher>> matcher =
      ReplyRuleMatcher::Create(std::move(rules));
  if (!matcher.ok()) return matcher.status();
  return std::shared_ptr<const ReplyRuleMatcher>(*std::move(matcher));
}

std::shared_ptr<const ReplyRuleMatcher> AutomationRuleCache::Get(
    const std::vector<const AutomationRuleSpec*>& specs) {
  if (specs.empty()) return nullptr;
  std::string key;
  for (const AutomationRuleSpec* spec : specs) {
    absl::StrAppend(&key, reinterpret_cast<uintptr_t>(spec), ",");
  }
  if (auto it = by_specs_.find(key); it != by_specs_.end()) return it->second;
  absl::StatusOr<std::shared_ptr<const ReplyRuleMatcher>> compiled = CompileAutomationRules(specs);
  if (!compiled.ok()) {
    TERN_LOG(kError, "shaping: automation rules not compiled: %s", compiled.status().ToString());
    return nullptr;
  }
  if (by_specs_.size() >= kEntriesMax) by_specs_.clear();
  by_specs_.emplace(std::move(key), *compiled);
  return *compiled;
}

}  // namespace tern::queue
