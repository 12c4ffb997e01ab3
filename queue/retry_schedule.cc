// Implementation of queue/retry_schedule.h.
#include "queue/retry_schedule.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/check.h"
#include "core/duration_text.h"

namespace tern::queue {

absl::StatusOr<RetrySchedule> RetrySchedule::Parse(absl::string_view steps,
                                                   absl::Duration max_queue_lifetime) {
  RetrySchedule schedule;
  for (absl::string_view step : absl::StrSplit(steps, ',', absl::SkipWhitespace())) {
    auto delay = core::ParsePositiveDuration(step);
    if (!delay.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "retry schedule step ", schedule.steps_.size() + 1, ": ", delay.status().message()));
    }
    if (schedule.steps_.size() == kStepsMax) {
      return absl::InvalidArgumentError(
          absl::StrCat("retry schedule has more than ", kStepsMax, " steps"));
    }
    schedule.steps_.push_back(*delay);
  }
  if (schedule.steps_.empty()) {
    return absl::InvalidArgumentError("retry schedule needs at least one step");
  }
  if (max_queue_lifetime <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("max queue lifetime must be positive");
  }
  schedule.max_queue_lifetime_ = max_queue_lifetime;
  return schedule;
}

absl::Duration RetrySchedule::DelayAfter(int failed_attempts) const {
  CHECK(!steps_.empty());
  const size_t index = static_cast<size_t>(std::max(failed_attempts, 1) - 1);
  return steps_[std::min(index, steps_.size() - 1)];
}

absl::Time RetrySchedule::NextAttempt(absl::Time received, int failed_attempts,
                                      absl::Time now) const {
  return std::min(now + DelayAfter(failed_attempts), received + max_queue_lifetime_);
}

bool RetrySchedule::Expired(absl::Time received, absl::Time now) const {
  return now >= received + max_queue_lifetime_;
}

}  // namespace tern::queue
