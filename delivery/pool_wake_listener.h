// PoolWakeListener: a shard's delivery as the shared destination pools see it
// (net/pool_wakeups.h, net/connection_shares.h). It keeps the lanes of this shard that
// found every address of their next hop at its connection limit, and:
// - told that a slot may be free (a connection of any shard closed or was parked), has the
//   owner retry those lanes at once, instead of at the next maintenance tick: in the order
//   they were noted, stopping after kRefusedRunMax retries in a row that met a limit again
//   (a freed slot is taken by the first lanes; a thousand lanes waiting for one shared limit
//   are not all retried for each slot); the rest wait for the next tell, in order; before
//   them, the owner retries the lanes that wait for a connection another shard hands over;
// - told that another shard began to wait for a destination this shard holds connections
//   to, has the owner give back its idle ones.
// Tells come from any shard's thread; each kind is posted to this shard's loop once until
// it ran (they coalesce). Everything else runs on the loop's thread.
//
//   PoolWakeListener listener(loop, &pools->wakeups(), shard, owner);
//   listener.NoteLaneAtLimit(lane);  // the attempt ended at the limit
//   listener.Forget(lane);           // before the lane is destroyed
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "core/loop.h"
#include "delivery/lane.h"
#include "net/pool_wakeups.h"

namespace tern::delivery {

class PoolWakeOwner {
 public:
  virtual ~PoolWakeOwner() = default;
  // A lane that waited at the limit: dispatch it now (it is no longer noted as waiting; an
  // attempt that meets the limit again notes it again).
  virtual void RetryLaneAtLimit(Lane* lane) = 0;
  // A slot may be free: first the lanes that wait for a connection another shard hands
  // over (they do not count among the lanes at their limit).
  virtual void RetryLanesAwaitingHandoff() {}
  // Another shard waits: park idle connections of destinations it waits for.
  virtual void YieldIdleConnections() = 0;
};

class PoolWakeListener {
 public:
  // Registers as `shard` with `wakeups` (which must outlive this).
  PoolWakeListener(core::Loop* loop, net::PoolWakeups* wakeups, uint32_t shard,
                   PoolWakeOwner* owner);
  // Unregisters; posts still queued on the loop find nobody and do nothing.
  ~PoolWakeListener();
  PoolWakeListener(const PoolWakeListener&) = delete;
  PoolWakeListener& operator=(const PoolWakeListener&) = delete;

  // Retries in a row that end at a limit again before a wake stops retrying.
  static constexpr size_t kRefusedRunMax = 4;

  uint32_t shard() const { return shard_; }
  void NoteLaneAtLimit(Lane* lane) {
    if (noted_.insert(lane).second) order_.push_back(lane);
  }
  void Forget(Lane* lane) { noted_.erase(lane); }  // its place in order_ is skipped
  size_t lanes_at_limit() const { return noted_.size(); }

  // Counters, for tests.
  uint64_t slot_wakes() const { return slot_wakes_; }
  uint64_t wait_wakes() const { return wait_wakes_; }

 private:
  // Shared with the posted functions: `listener` is cleared (on the loop's thread) when
  // the listener goes.
  struct Link {
    std::atomic<bool> slot_posted{false};
    std::atomic<bool> wait_posted{false};
    PoolWakeListener* listener = nullptr;
  };
  static void Post(const std::shared_ptr<Link>& link, const std::shared_ptr<core::Mailbox>& mailbox,
                   net::PoolWakeups::Reason why);
  void OnSlotMayBeFree();
  void OnSomeoneWaits();

  net::PoolWakeups* const wakeups_;
  const uint32_t shard_;
  PoolWakeOwner* const owner_;
  std::shared_ptr<Link> link_ = std::make_shared<Link>();
  absl::flat_hash_set<Lane*> noted_;  // at their limit, waiting for a retry
  std::deque<Lane*> order_;           // noted_ in the order noted (and forgotten ones)
  uint64_t slot_wakes_ = 0;
  uint64_t wait_wakes_ = 0;
};

}  // namespace tern::delivery
