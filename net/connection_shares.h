// ConnectionShares: how one destination's connection limit is split between the shards
// that want connections to it. The limit holds for the whole process
// (net/destination_pool.h); without shares the first shard to ask takes every slot and the
// others wait until it runs out of work, leaving their cores idle (measured: one shard
// with 20 of 20 connections, the other at 0 msg/s for 1.5-2.5 s). With shares, while
// another shard waits, a shard holds at most its fair share (the limit split evenly over
// the shards that hold or wait, rounded up): it may not add beyond it, and one holding more
// gives connections back at its next chance (ShouldYield). Alone, a shard may use the
// whole limit.
//
// A shard waits from its Wait() until it adds a connection or StopWaiting(), or until its
// wait is older than kWaitFresh without being renewed (a shard whose work went away does
// not hold the others to their shares for long; one still waiting renews by asking again).
//
// Not thread-safe: the destination guards it with its mutex.
//
//   ConnectionShares shares(20);
//   if (shares.MayAdd(shard, now)) shares.Add(shard); else shares.Wait(shard, now);
//   ... at the end of a transaction: if (shares.ShouldYield(shard, now)) park it.
//   ... shares.Remove(shard) when it is closed or parked: Waiters(now) are told.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/time/time.h"
#include "core/shard_count.h"

namespace tern::net {

class ConnectionShares {
 public:
  // Shards are numbered from 0; a number this large or more is refused (CHECK).
  static constexpr uint32_t kShardsMax = core::kShardsMax;
  // A wait not renewed for this long is over.
  static constexpr absl::Duration kWaitFresh = absl::Seconds(3);

  explicit ConnectionShares(uint32_t limit) : limit_(limit) {}
  // The limit may change (a shaping policy's, given with each use).
  void set_limit(uint32_t limit) { limit_ = limit; }

  // `shard` opened a connection or took a parked one; it waits no longer.
  void Add(uint32_t shard);
  // One of `shard`'s connections closed or was parked.
  void Remove(uint32_t shard);
  uint32_t held_by(uint32_t shard) const;
  uint32_t held() const { return held_; }

  // `shard` found no slot (or only other shards' shares): it waits, until `now` +
  // kWaitFresh unless renewed.
  void Wait(uint32_t shard, absl::Time now);
  // `shard` needs no more connections.
  void StopWaiting(uint32_t shard);
  bool waiting(uint32_t shard, absl::Time now) const;
  // Whether any shard waits.
  bool AnyWaiting(absl::Time now) const;
  // Whether a shard other than `shard` waits.
  bool OthersWait(uint32_t shard, absl::Time now) const;
  // The waiting shards, in order (to tell them a slot may be free; they still wait).
  std::vector<uint32_t> Waiters(absl::Time now) const;
  // The shards other than `shard` that hold connections (to tell them someone waits).
  std::vector<uint32_t> HoldersOtherThan(uint32_t shard) const;

  // The limit split evenly over the shards that hold or wait, and `also` (a shard asking),
  // rounded up.
  uint32_t FairShare(absl::Time now, uint32_t also) const;
  // Whether `shard` may hold one more without taking a waiting shard's share: below the
  // limit, and below its fair share while another shard waits.
  bool MayAdd(uint32_t shard, absl::Time now) const;
  // Whether `shard` holds more than its fair share while another shard waits, not counting
  // `leaving` of its connections already on their way back (yielded, not yet released).
  bool ShouldYield(uint32_t shard, absl::Time now, uint32_t leaving = 0) const;

 private:
  struct Seat {
    uint32_t held = 0;
    absl::Time waits_until = absl::InfinitePast();
  };
  Seat& SeatOf(uint32_t shard);

  uint32_t limit_;
  uint32_t held_ = 0;
  absl::InlinedVector<Seat, 2> seats_;  // by shard number
};

}  // namespace tern::net
