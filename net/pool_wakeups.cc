// Implementation of net/pool_wakeups.h.
#include "net/pool_wakeups.h"

#include "core/check.h"
#include "net/connection_shares.h"

namespace tern::net {

void PoolWakeups::Register(uint32_t shard, Wake wake) {
  CHECK_LT(shard, ConnectionShares::kShardsMax);
  absl::MutexLock lock(&mu_);
  if (shard >= wakes_.size()) wakes_.resize(shard + 1);
  wakes_[shard] = std::move(wake);
}

void PoolWakeups::Unregister(uint32_t shard) {
  absl::MutexLock lock(&mu_);
  if (shard < wakes_.size()) wakes_[shard] = nullptr;
}

void PoolWakeups::Tell(uint32_t shard, Reason why) const {
  absl::MutexLock lock(&mu_);
  if (shard < wakes_.size() && wakes_[shard]) wakes_[shard](why);
}

}  // namespace tern::net
