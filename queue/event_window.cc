// Implementation of queue/event_window.h.
#include "queue/event_window.h"

#include <algorithm>

#include "core/check.h"

namespace tern::queue {

EventWindow::EventWindow(uint32_t threshold, absl::Duration period) : threshold_(threshold) {
  CHECK_GE(threshold, 1u);
  CHECK_GT(period, absl::ZeroDuration());
  const int64_t period_ns = absl::ToInt64Nanoseconds(period);
  bucket_ns_ = std::max<int64_t>((period_ns + kBuckets - 1) / kBuckets, 1);
}

int64_t EventWindow::BucketIndex(absl::Time now) const {
  const int64_t now_ns = absl::ToUnixNanos(now);
  return now_ns >= 0 ? now_ns / bucket_ns_ : 0;
}

void EventWindow::Advance(int64_t index) {
  if (index <= newest_index_) return;
  if (index - newest_index_ >= kBuckets) {
    counts_.fill(0);
  } else {
    for (int64_t i = newest_index_ + 1; i <= index; ++i) counts_[i % kBuckets] = 0;
  }
  newest_index_ = index;
}

bool EventWindow::Add(absl::Time now) {
  Advance(BucketIndex(now));
  uint32_t& newest = counts_[newest_index_ % kBuckets];
  if (newest < UINT32_MAX) ++newest;
  uint64_t total = 0;
  for (uint32_t c : counts_) total += c;
  if (total < threshold_) return false;
  counts_.fill(0);
  return true;
}

uint32_t EventWindow::Count(absl::Time now) const {
  const int64_t index = BucketIndex(now);
  uint64_t total = 0;
  for (int64_t i = std::max(index - kBuckets + 1, newest_index_ - kBuckets + 1); i <= newest_index_;
       ++i) {
    total += counts_[i % kBuckets];
  }
  return static_cast<uint32_t>(std::min<uint64_t>(total, UINT32_MAX));
}

}  // namespace tern::queue
