// Implementation of queue/throttle_registry.h.
#include "queue/throttle_registry.h"

#include <algorithm>

namespace tern::queue {

std::shared_ptr<ScopeThrottle> ThrottleRegistry::Get(absl::string_view scope_key) {
  absl::MutexLock lock(&mutex_);
  auto [it, inserted] = entries_.try_emplace(scope_key, nullptr);
  if (inserted) it->second = std::make_shared<ScopeThrottle>(std::string(scope_key));
  return it->second;
}

size_t ThrottleRegistry::Sweep(absl::Time now) {
  absl::MutexLock lock(&mutex_);
  size_t dropped = 0;
  for (auto it = entries_.begin(); it != entries_.end();) {
    // use_count() == 1 is exact here: only the map holds it, and a new copy can only be
    // made from the map, under this mutex.
    if (it->second.use_count() == 1 && it->second->Idle(now)) {
      entries_.erase(it++);
      ++dropped;
    } else {
      ++it;
    }
  }
  return dropped;
}

size_t ThrottleRegistry::size() const {
  absl::MutexLock lock(&mutex_);
  return entries_.size();
}

std::vector<std::shared_ptr<ScopeThrottle>> ThrottleRegistry::Snapshot() const {
  std::vector<std::shared_ptr<ScopeThrottle>> out;
  {
    absl::MutexLock lock(&mutex_);
    out.reserve(entries_.size());
    for (const auto& [key, entry] : entries_) out.push_back(entry);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a->key < b->key; });
  return out;
}

}  // namespace tern::queue
