// Implementation of queue/throttle_cell.h.
#include "queue/throttle_cell.h"

#include <algorithm>

#include "core/check.h"

namespace tern::queue {

ThrottleCell::Pace ThrottleCell::Pace::Of(const RateSpec& rate) {
  Pace pace;
  pace.interval_ns = absl::ToInt64Nanoseconds(rate.emission_interval());
  CHECK_GT(pace.interval_ns, 0);
  // burst × interval, capped at kWindowMaxNs.
  const uint64_t burst = std::max<uint64_t>(rate.burst, 1);
  pace.window_ns = burst > static_cast<uint64_t>(kWindowMaxNs / pace.interval_ns)
                       ? kWindowMaxNs
                       : static_cast<int64_t>(burst) * pace.interval_ns;
  return pace;
}

ThrottleCell::Step ThrottleCell::Compute(int64_t tat_ns, int64_t now_ns, const Pace& pace) {
  const int64_t interval_ns = pace.interval_ns;
  const int64_t window_ns = pace.window_ns;
  int64_t start_ns = std::max(tat_ns, now_ns);
  // Debt beyond the current window (the rate was raised or the burst lowered): cut it to
  // the window, so the bucket counts as empty under the new rate rather than for the old
  // debt's whole length.
  const bool cut = start_ns - now_ns > window_ns + kWindowSlackNs;
  if (cut) start_ns = now_ns + window_ns;
  const int64_t new_tat_ns = start_ns + interval_ns;
  const int64_t allowed_at_ns = new_tat_ns - window_ns;
  return Step{start_ns, new_tat_ns, std::max<int64_t>(allowed_at_ns - now_ns, 0), cut};
}

absl::Duration ThrottleCell::Check(absl::Time now, const Pace& pace) const {
  const Step step = Compute(tat_ns_.load(std::memory_order_relaxed), absl::ToUnixNanos(now), pace);
  return absl::Nanoseconds(step.wait_ns);
}

absl::Duration ThrottleCell::TryTake(absl::Time now, const Pace& pace) {
  const int64_t now_ns = absl::ToUnixNanos(now);
  int64_t tat_ns = tat_ns_.load(std::memory_order_relaxed);
  while (true) {
    const Step step = Compute(tat_ns, now_ns, pace);
    if (step.wait_ns > 0) {
      // Keep the cut, so that the wait ends; a lost race means another shard moved the TAT.
      if (step.cut)
        tat_ns_.compare_exchange_strong(tat_ns, step.start_ns, std::memory_order_relaxed);
      return absl::Nanoseconds(step.wait_ns);
    }
    // On failure tat_ns holds the value another shard wrote; compute again from it.
    if (tat_ns_.compare_exchange_weak(tat_ns, step.new_tat_ns, std::memory_order_relaxed)) {
      return absl::ZeroDuration();
    }
  }
}

void ThrottleCell::GiveBack(const Pace& pace) {
  tat_ns_.fetch_sub(pace.interval_ns, std::memory_order_relaxed);
}

uint64_t ThrottleCell::Available(absl::Time now, const Pace& pace) const {
  const int64_t now_ns = absl::ToUnixNanos(now);
  const int64_t interval_ns = pace.interval_ns;
  const int64_t window_ns = pace.window_ns;
  const int64_t debt_ns =
      std::min(std::max<int64_t>(tat_ns_.load(std::memory_order_relaxed) - now_ns, 0), window_ns);
  return static_cast<uint64_t>((window_ns - debt_ns) / interval_ns);
}

bool ThrottleCell::Full(absl::Time now) const {
  return tat_ns_.load(std::memory_order_relaxed) <= absl::ToUnixNanos(now);
}

}  // namespace tern::queue
