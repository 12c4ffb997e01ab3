// Implementation of queue/trigger_counters.h.
#include "queue/trigger_counters.h"

namespace tern::queue {

bool TriggerCounters::Count(absl::string_view key, const ReplyRule::Threshold& threshold,
                            absl::Time now) {
  absl::MutexLock lock(&mutex_);
  auto it = windows_.find(key);
  if (it == windows_.end()) {
    if (windows_.size() >= kEntriesMax && SweepLocked(now) == 0) {
      ++dropped_events_;
      return false;
    }
    it = windows_.try_emplace(std::string(key), threshold.count, threshold.period).first;
  }
  return it->second.Add(now);
}

size_t TriggerCounters::SweepLocked(absl::Time now) {
  size_t dropped = 0;
  for (auto it = windows_.begin(); it != windows_.end();) {
    if (it->second.Count(now) == 0) {
      windows_.erase(it++);
      ++dropped;
    } else {
      ++it;
    }
  }
  return dropped;
}

size_t TriggerCounters::Sweep(absl::Time now) {
  absl::MutexLock lock(&mutex_);
  return SweepLocked(now);
}

size_t TriggerCounters::size() const {
  absl::MutexLock lock(&mutex_);
  return windows_.size();
}

uint64_t TriggerCounters::dropped_events() const {
  absl::MutexLock lock(&mutex_);
  return dropped_events_;
}

}  // namespace tern::queue
