// Implementation of suppression/bounce_tally.h.
#include "suppression/bounce_tally.h"

#include "core/check.h"
#include "core/log.h"

namespace tern::suppression {

bool BounceTally::CountReaches(absl::string_view address, uint32_t threshold) {
  CHECK_GE(threshold, 1u);
  if (threshold == 1) return true;
  absl::MutexLock lock(&mutex_);
  auto it = counts_.find(address);
  if (it == counts_.end()) {
    if (counts_.size() >= kAddressesMax) {
      TERN_LOG(kWarning, "suppression: %d addresses with hard bounces counted; counting anew",
               counts_.size());
      counts_.clear();
    }
    it = counts_.emplace(std::string(address), 0).first;
  }
  if (++it->second < threshold) return false;
  counts_.erase(it);
  return true;
}

size_t BounceTally::tracked() const {
  absl::MutexLock lock(&mutex_);
  return counts_.size();
}

}  // namespace tern::suppression
