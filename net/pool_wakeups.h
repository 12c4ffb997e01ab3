// PoolWakeups: how the destination pools, shared by all shards, reach a shard: each shard
// registers a wake function under its number, and a destination wakes the shards that wait
// for one of its slots when one frees, and the shards holding its connections when another
// starts to wait (net/connection_shares.h). Thread-safe.
//
//   wakeups.Register(shard, [mailbox](PoolWakeups::Reason why) { mailbox->Post(...); });
//   ... any thread: wakeups.Tell(shard, PoolWakeups::Reason::kSlotMayBeFree);
//   wakeups.Unregister(shard);  // before the shard's loop goes
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace tern::net {

class PoolWakeups {
 public:
  enum class Reason {
    kSlotMayBeFree,  // to a waiting shard: a connection closed or was parked
    kSomeoneWaits,   // to a holding shard: another shard began to wait for a slot
  };
  using Wake = std::function<void(Reason)>;

  // `wake` runs on whichever thread frees a slot or waits, with no pool lock held but this
  // registry's: it must be cheap and must not call back into the pools.
  void Register(uint32_t shard, Wake wake);
  void Unregister(uint32_t shard);
  // Calls `shard`'s wake function, if it has one.
  void Tell(uint32_t shard, Reason why) const;

 private:
  mutable absl::Mutex mu_;
  std::vector<Wake> wakes_ ABSL_GUARDED_BY(mu_);  // by shard number
};

}  // namespace tern::net
