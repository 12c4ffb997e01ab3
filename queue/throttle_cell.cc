// Implementation of queue/throttle_cell.h.
#include "queue/throttle_cell.h"

#include <algorithm>

#include "core/check.h"

namespace tern::queue {
namespace {

int64_t IntervalNs(const RateSpec& rate) {
  const int64_t ns = absl::ToInt64Nanoseconds(rate.emission_interval());
  CHECK_GT(ns, 0);
  return ns;
}

// burst × interval, capped at kWindowMaxNs.
int64_t WindowNs(const RateSpec& rate, int64_t interval_ns) {
  const uint64_t burst = std::max<uint64_t>(rate.burst, 1);
  if (burst > static_cast<uint64_t>(ThrottleCell::kWindowMaxNs / interval_ns)) {
    return ThrottleCell::kWindowMaxNs;
  }
  return static_cast<int64_t>(burst) * interval_ns;
}

}  // namespace

ThrottleCell::Step ThrottleCell::Compute(int64_t tat_ns, int64_t now_ns, const RateSpec& rate) {
  const int64_t interval_ns = IntervalNs(rate);
  const int64_t window_ns = WindowNs(rate, interval_ns);
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

absl::Duration ThrottleCell::Check(absl::Time now, const RateSpec& rate) const {
  const Step step = Compute(tat_ns_.load(std::memory_order_relaxed), absl::ToUnixNanos(now), rate);
  return absl::Nanoseconds(step.wait_ns);
}

absl::Duration ThrottleCell::TryTake(absl::Time now, const RateSpec& rate) {
  const int64_t now_ns = absl::ToUnixNanos(now);
  int64_t tat_ns = tat_ns_.load(std::memory_order_relaxed);
  while (true) {
    const Step step = Compute(tat_ns, now_ns, rate);
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

void ThrottleCell::GiveBack(const RateSpec& rate) {
  tat_ns_.fetch_sub(IntervalNs(rate), std::memory_order_relaxed);
}

uint64_t ThrottleCell::Available(absl::Time now, const RateSpec& rate) const {
  const int64_t now_ns = absl::ToUnixNanos(now);
  const int64_t interval_ns = IntervalNs(rate);
  const int64_t window_ns = WindowNs(rate, interval_ns);
  const int64_t debt_ns =
      std::min(std::max<int64_t>(tat_ns_.load(std::memory_order_relaxed) - now_ns, 0), window_ns);
  return static_cast<uint64_t>((window_ns - debt_ns) / interval_ns);
}

bool ThrottleCell::Full(absl::Time now) const {
  return tat_ns_.load(std::memory_order_relaxed) <= absl::ToUnixNanos(now);
}

}  // namespace tern::queue
