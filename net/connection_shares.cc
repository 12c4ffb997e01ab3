// Implementation of net/connection_shares.h.
#include "net/connection_shares.h"

#include <algorithm>

#include "core/check.h"

namespace tern::net {

ConnectionShares::Seat& ConnectionShares::SeatOf(uint32_t shard) {
  CHECK_LT(shard, kShardsMax);
  if (shard >= seats_.size()) seats_.resize(shard + 1);
  return seats_[shard];
}

void ConnectionShares::Add(uint32_t shard) {
  Seat& seat = SeatOf(shard);
  ++seat.held;
  ++held_;
  seat.waits_until = absl::InfinitePast();
}

void ConnectionShares::Remove(uint32_t shard) {
  Seat& seat = SeatOf(shard);
  CHECK_GT(seat.held, 0u);
  CHECK_GT(held_, 0u);
  --seat.held;
  --held_;
}

uint32_t ConnectionShares::held_by(uint32_t shard) const {
  return shard < seats_.size() ? seats_[shard].held : 0;
}

void ConnectionShares::Wait(uint32_t shard, absl::Time now) {
  SeatOf(shard).waits_until = now + kWaitFresh;
}

void ConnectionShares::StopWaiting(uint32_t shard) {
  if (shard < seats_.size()) seats_[shard].waits_until = absl::InfinitePast();
}

bool ConnectionShares::waiting(uint32_t shard, absl::Time now) const {
  return shard < seats_.size() && seats_[shard].waits_until > now;
}

bool ConnectionShares::AnyWaiting(absl::Time now) const {
  for (const Seat& seat : seats_) {
    if (seat.waits_until > now) return true;
  }
  return false;
}

bool ConnectionShares::OthersWait(uint32_t shard, absl::Time now) const {
  for (uint32_t s = 0; s < seats_.size(); ++s) {
    if (s != shard && seats_[s].waits_until > now) return true;
  }
  return false;
}

std::vector<uint32_t> ConnectionShares::Waiters(absl::Time now) const {
  std::vector<uint32_t> waiters;
  for (uint32_t s = 0; s < seats_.size(); ++s) {
    if (seats_[s].waits_until > now) waiters.push_back(s);
  }
  return waiters;
}

std::vector<uint32_t> ConnectionShares::HoldersOtherThan(uint32_t shard) const {
  std::vector<uint32_t> holders;
  for (uint32_t s = 0; s < seats_.size(); ++s) {
    if (s != shard && seats_[s].held > 0) holders.push_back(s);
  }
  return holders;
}

uint32_t ConnectionShares::FairShare(absl::Time now, uint32_t also) const {
  uint32_t wanting = also < seats_.size() ? 0 : 1;
  for (uint32_t s = 0; s < seats_.size(); ++s) {
    const Seat& seat = seats_[s];
    wanting += (s == also || seat.held > 0 || seat.waits_until > now) ? 1 : 0;
  }
  return (limit_ + wanting - 1) / wanting;
}

bool ConnectionShares::MayAdd(uint32_t shard, absl::Time now) const {
  if (held_ >= limit_) return false;
  if (!OthersWait(shard, now)) return true;
  return held_by(shard) < FairShare(now, shard);
}

bool ConnectionShares::ShouldYield(uint32_t shard, absl::Time now, uint32_t leaving) const {
  const uint32_t held = held_by(shard);
  return OthersWait(shard, now) && held - std::min(held, leaving) > FairShare(now, shard);
}

}  // namespace tern::net
