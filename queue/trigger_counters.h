// TriggerCounters: the threshold triggers' event windows (queue/event_window.h), one per key
// (the caller's choice, e.g. rule name + source + site), shared by all shards under one
// mutex: it is touched only when a reply matched a threshold rule. Bounded: at most
// kEntriesMax windows; when full, windows empty at that moment are dropped, and if none is,
// a new key's event is not counted (Count returns false; dropped_events() counts them).
//
//   TriggerCounters counters;
//   if (counters.Count(absl::StrCat(rule.name, "|", source, "|", site), threshold, now)) {
//     ... the rule fires ...
//   }
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "queue/event_window.h"
#include "queue/reply_rule.h"

namespace tern::queue {

class TriggerCounters {
 public:
  static constexpr size_t kEntriesMax = 100'000;

  // Counts one event for `key`; true when its threshold is reached (see EventWindow::Add).
  bool Count(absl::string_view key, const ReplyRule::Threshold& threshold, absl::Time now);
  // Drops the windows with no event left at `now`; returns how many.
  size_t Sweep(absl::Time now);
  size_t size() const;
  uint64_t dropped_events() const;

 private:
  size_t SweepLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  mutable absl::Mutex mutex_;
  absl::flat_hash_map<std::string, EventWindow> windows_ ABSL_GUARDED_BY(mutex_);
  uint64_t dropped_events_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace tern::queue
