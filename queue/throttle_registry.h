// ThrottleRegistry: the process-wide map from a shaping scope key to its shared throttle
// state (queue/scope_throttle.h). One instance for all shards, made by the composition root.
// Get() takes a mutex, so call it when a lane is made or its policy changes, never per
// message: keep the shared_ptr and use the cells without a lock. Because state is keyed by
// scope, not by policy object, a policy reload finds the same cells (a lower rate never
// releases a fresh burst).
//
// Memory bound: Sweep(now) drops every entry that no caller holds and that has nothing to
// remember (both buckets full, no open connection); dropping such an entry and making it
// again later behaves exactly as keeping it. So the registry holds at most the scopes of
// live lanes plus those released less than one burst window ago (the longest window in
// the policy, at most ThrottleCell::kWindowMaxNs). Call Sweep now and then (every minute).
//
//   ThrottleRegistry registry;                         // shared by all shards
//   std::shared_ptr<ScopeThrottle> google = registry.Get("provider:google");
//   google->message_rate.TryTake(now, rate);
//   registry.Sweep(now);                               // from a maintenance timer
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "queue/scope_throttle.h"

namespace tern::queue {

class ThrottleRegistry {
 public:
  // The state of `scope_key`, made on first use.
  std::shared_ptr<ScopeThrottle> Get(absl::string_view scope_key);
  // Drops the entries nobody holds that are idle at `now` (see above); returns how many.
  size_t Sweep(absl::Time now);
  size_t size() const;
  // Every entry, sorted by key (for `ternctl shaping` and metrics).
  std::vector<std::shared_ptr<ScopeThrottle>> Snapshot() const;

 private:
  mutable absl::Mutex mutex_;
  absl::flat_hash_map<std::string, std::shared_ptr<ScopeThrottle>> entries_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace tern::queue
