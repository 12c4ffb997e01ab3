// RetrySchedule: when a deferred message is tried again, and when it gives up.
// Built from --retry_schedule ("1m,5m,15m,30m,1h,2h,4h": the delay after the 1st, 2nd, ...
// failed attempt; the last one repeats) and --max_queue_lifetime (after that, the message
// expires and its sender gets a DSN).
//
//   ASSIGN_OR_RETURN(RetrySchedule schedule, RetrySchedule::Parse("30s,5m,1h", absl::Hours(120)));
//   absl::Time next = schedule.NextAttempt(received, attempts, now);
//   if (schedule.Expired(received, now)) { ... bounce as expired ... }
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace tern::queue {

class RetrySchedule {
 public:
  static constexpr size_t kStepsMax = 64;

  // InvalidArgument naming the bad step. Steps must be positive durations in abseil
  // syntax ("30s", "5m", "1h30m"); days are accepted as "Nd" (core/duration_text.h).
  static absl::StatusOr<RetrySchedule> Parse(absl::string_view steps,
                                             absl::Duration max_queue_lifetime);

  // The delay after `failed_attempts` failures (1 = the first): the matching step, the last
  // one when there are more failures than steps.
  absl::Duration DelayAfter(int failed_attempts) const;
  // When to try next after `failed_attempts` failures at `now`; never past the message's
  // expiry (so the last try happens at the end of its lifetime, not after it).
  absl::Time NextAttempt(absl::Time received, int failed_attempts, absl::Time now) const;
  bool Expired(absl::Time received, absl::Time now) const;
  absl::Duration max_queue_lifetime() const { return max_queue_lifetime_; }
  const std::vector<absl::Duration>& steps() const { return steps_; }

 private:
  std::vector<absl::Duration> steps_;
  absl::Duration max_queue_lifetime_;
};

}  // namespace tern::queue
