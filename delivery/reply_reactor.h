// ReplyReactor: the shaping policy's automation rules at work. Every failure reply from a
// lane's site ("CODE ENHANCED TEXT", e.g. "421 4.7.28 ... unusual rate") is matched
// against the lane's rules (queue/automation_rules.h); a rule that fires (at once, or when
// its threshold of matches within its period is reached, counted for all shards) suspends
// the source→site pair, sets shaping options on it for a while (both in the shared
// queue::ShapingOverrides, persisted, with their ramp-up), or bounces the message with the
// reply. Failures Tern makes itself (connection refused, timeouts, anything before the
// SMTP session was ready) match only rules with match_internal.
//
//   if (reactor.OnReply(*lane, "421 4.7.28 unusual rate", /*internal=*/false, now)) {
//     ... a rule says: bounce with this reply ...
//   }
//
// Single-threaded per shard; the state it changes is shared and thread-safe.
#pragma once

#include <cstdint>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "delivery/lane.h"
#include "queue/shaping_state.h"

namespace tern::delivery {

class ReplyReactor {
 public:
  // Bytes of the reply kept as a suspension's or override's reason.
  static constexpr size_t kReasonBytesMax = 200;

  explicit ReplyReactor(queue::ShapingState* state);

  // True when a rule that fired says the message bounces with this reply.
  bool OnReply(const Lane& lane, absl::string_view reply, bool internal, absl::Time now);

  // Counters, for tests and metrics.
  uint64_t replies_matched() const { return replies_matched_; }
  uint64_t rules_fired() const { return rules_fired_; }

 private:
  queue::ShapingState* const state_;
  uint64_t replies_matched_ = 0;
  uint64_t rules_fired_ = 0;
};

}  // namespace tern::delivery
