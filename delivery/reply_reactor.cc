// Implementation of delivery/reply_reactor.h.
#include "delivery/reply_reactor.h"

#include <string>
#include <variant>

#include "absl/strings/str_cat.h"
#include "core/check.h"
#include "core/log.h"
#include "core/utf8.h"

namespace tern::delivery {

ReplyReactor::ReplyReactor(queue::ShapingState* state) : state_(state) { CHECK(state_ != nullptr); }

bool ReplyReactor::OnReply(const Lane& lane, absl::string_view reply, bool internal,
                           absl::Time now) {
  if (lane.rules == nullptr) return false;
  const std::vector<size_t> matched = lane.rules->Match(reply, internal);
  if (matched.empty()) return false;
  ++replies_matched_;
  const std::string reason(core::Utf8Prefix(reply, kReasonBytesMax));
  bool bounce = false;
  for (const size_t index : matched) {
    const queue::ReplyRule& rule = lane.rules->rule(index);
    if (const auto* threshold = std::get_if<queue::ReplyRule::Threshold>(&rule.trigger)) {
      const std::string key = absl::StrCat(rule.name, "|", lane.source, "|", lane.site_scope);
      if (!state_->triggers().Count(key, *threshold, now)) continue;
    }
    ++rules_fired_;
    for (const queue::ReplyRule::Action& action : rule.actions) {
      if (const auto* suspend = std::get_if<queue::ReplyRule::Suspend>(&action)) {
        absl::Status s = state_->overrides().Suspend(
            lane.source, lane.site_scope, now + suspend->duration, reason, rule.name, rule.ramp_up);
        TERN_LOG(kWarning, "shaping: %s suspended for %s by %s (reply: %s)%s", lane.site_scope,
                 absl::FormatDuration(suspend->duration), rule.name, reason,
                 s.ok() ? "" : absl::StrCat(": not recorded: ", s.message()));
      } else if (const auto* set = std::get_if<queue::ReplyRule::SetOptions>(&action)) {
        absl::Status s =
            state_->overrides().Override(lane.source, lane.site_scope, set->options,
                                         now + set->duration, reason, rule.name, rule.ramp_up);
        TERN_LOG(kWarning, "shaping: %s limits changed for %s by %s (reply: %s)%s", lane.site_scope,
                 absl::FormatDuration(set->duration), rule.name, reason,
                 s.ok() ? "" : absl::StrCat(": not recorded: ", s.message()));
      } else {
        bounce = true;
      }
    }
  }
  return bounce;
}

}  // namespace tern::delivery
