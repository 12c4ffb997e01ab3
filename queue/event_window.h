// EventWindow: counts events over the last `period` for an automation rule's threshold
// trigger ("10/5m": fires at the 10th match within 5 minutes). Bounded memory whatever the
// rate: a ring of kBuckets per-bucket counts, each bucket period/kBuckets wide; the count is
// the sum of the buckets that overlap the last period, so an event is forgotten between
// period and period + one bucket after it happened (precision: 1/kBuckets of the period).
// When it fires the window starts empty again, so the next firing needs `threshold` new
// events. Not thread-safe: the owner locks (queue/trigger_counters.h).
//
//   EventWindow window(10, absl::Minutes(5));
//   if (window.Add(now)) { ... the rule's actions ... }
#pragma once

#include <array>
#include <cstdint>

#include "absl/time/time.h"

namespace tern::queue {

class EventWindow {
 public:
  static constexpr int kBuckets = 30;

  // threshold ≥ 1, period > 0.
  EventWindow(uint32_t threshold, absl::Duration period);

  // Counts one event at `now`; true when that makes `threshold` within the period (the
  // window is emptied then). Events must come in time order, within a bucket: an earlier
  // `now` counts in the newest bucket.
  bool Add(absl::Time now);
  // Events within the last period at `now`.
  uint32_t Count(absl::Time now) const;

 private:
  int64_t BucketIndex(absl::Time now) const;
  // Moves the ring's newest bucket to `index`, emptying the buckets passed over.
  void Advance(int64_t index);

  uint32_t threshold_;
  int64_t bucket_ns_;
  int64_t newest_index_ = 0;  // absolute bucket index of counts_[newest_index_ % kBuckets]
  std::array<uint32_t, kBuckets> counts_{};
};

}  // namespace tern::queue
