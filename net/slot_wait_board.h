// SlotWaitBoard: connection shares (net/connection_shares.h) of the shaping scopes whose
// connection limit holds for all shards together (a site's "connection_limit", counted by
// queue::ConnectionSlots). A destination's own limit has its shares in net::Destination;
// this board does the same for a scope key ("site:mx.example.net@ip1"): a shard refused by
// the scope's limit waits here, the shards holding its connections are told to give back
// idle ones (and any beyond their fair share), and the waiting shards are told as soon as
// one closes. Shared by all shards; a mutex guards the entries, and a shard asks whether
// anyone waits (the per-transaction question) without it while nobody has waited for
// kWaitFresh.
//
//   board.Added(scope, shard);            // a connection of `scope` opened on `shard`
//   board.Removed(scope, shard);          // ... and closed: waiting shards are told
//   board.Wait(scope, shard, limit);      // refused by the limit
//   board.ShouldYield(scope, shard)       // at each transaction's end
#pragma once

#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "net/connection_shares.h"
#include "net/pool_wakeups.h"
#include "net/recent_wait_mark.h"

namespace tern::net {

class SlotWaitBoard {
 public:
  // `wakeups` (may be null: nobody is told) must outlive the board.
  explicit SlotWaitBoard(const PoolWakeups* wakeups) : wakeups_(wakeups) {}

  void Added(absl::string_view scope, uint32_t shard);
  // Tells the shards waiting for `scope` that a slot may be free.
  void Removed(absl::string_view scope, uint32_t shard);
  // `shard` was refused a connection by `scope`'s `limit`: it waits (renewed by every
  // call), and a new wait tells the other shards holding `scope`'s connections.
  void Wait(absl::string_view scope, uint32_t shard, uint32_t limit);
  // `shard` needs no more of `scope`'s connections for now.
  void StopWaiting(absl::string_view scope, uint32_t shard);
  // Whether `shard` may open one more without taking a waiting shard's share (the limit
  // itself is the scope's, checked where the slots are counted).
  bool MayAdd(absl::string_view scope, uint32_t shard) const;
  // Another shard waits for `scope`.
  bool OthersWait(absl::string_view scope, uint32_t shard) const;
  // `shard` waits for `scope`.
  bool Waits(absl::string_view scope, uint32_t shard) const;
  // A shard other than `shard` holds connections of `scope`.
  bool HeldByOthers(absl::string_view scope, uint32_t shard) const;
  // Any shard, this one included, waits for `scope`.
  bool AnyWaits(absl::string_view scope) const;
  // Another shard waits for `scope` and `shard` holds more than its fair share of the
  // limit the last waiter gave (`leaving` of its connections already yielded not counted).
  bool ShouldYield(absl::string_view scope, uint32_t shard, uint32_t leaving = 0) const;

  size_t scopes() const;

 private:
  void Tell(const std::vector<uint32_t>& shards, PoolWakeups::Reason why) const;

  const PoolWakeups* const wakeups_;
  RecentWaitMark recent_wait_;
  mutable absl::Mutex mu_;
  // Scopes with connections held or a shard waiting; dropped when neither.
  absl::flat_hash_map<std::string, ConnectionShares> shares_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tern::net
