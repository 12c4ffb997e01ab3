// Implementation of net/slot_wait_board.h.
#include "net/slot_wait_board.h"

#include <vector>

namespace tern::net {

void SlotWaitBoard::Added(absl::string_view scope, uint32_t shard) {
  absl::MutexLock lock(&mu_);
  auto [it, fresh] = shares_.try_emplace(scope, ConnectionShares(0));
  it->second.Add(shard);
}

void SlotWaitBoard::Removed(absl::string_view scope, uint32_t shard) {
  std::vector<uint32_t> waiters;
  {
    absl::MutexLock lock(&mu_);
    auto it = shares_.find(scope);
    if (it == shares_.end()) return;
    it->second.Remove(shard);
    const absl::Time now = absl::Now();
    waiters = it->second.Waiters(now);
    if (it->second.held() == 0 && waiters.empty()) shares_.erase(it);
  }
  Tell(waiters, PoolWakeups::Reason::kSlotMayBeFree);
}

void SlotWaitBoard::Wait(absl::string_view scope, uint32_t shard, uint32_t limit) {
  std::vector<uint32_t> holders;
  const absl::Time now = absl::Now();
  {
    absl::MutexLock lock(&mu_);
    auto [it, fresh] = shares_.try_emplace(scope, ConnectionShares(limit));
    it->second.set_limit(limit);
    if (!it->second.waiting(shard, now)) holders = it->second.HoldersOtherThan(shard);
    it->second.Wait(shard, now);
  }
  recent_wait_.Mark(now);
  Tell(holders, PoolWakeups::Reason::kSomeoneWaits);
}

void SlotWaitBoard::StopWaiting(absl::string_view scope, uint32_t shard) {
  if (!recent_wait_.Recent(absl::Now())) return;
  absl::MutexLock lock(&mu_);
  auto it = shares_.find(scope);
  if (it == shares_.end()) return;
  it->second.StopWaiting(shard);
  if (it->second.held() == 0 && it->second.Waiters(absl::Now()).empty()) shares_.erase(it);
}

bool SlotWaitBoard::AnyWaits(absl::string_view scope) const {
  const absl::Time now = absl::Now();
  if (!recent_wait_.Recent(now)) return false;
  absl::MutexLock lock(&mu_);
  auto it = shares_.find(scope);
  return it != shares_.end() && it->second.AnyWaiting(now);
}

bool SlotWaitBoard::Waits(absl::string_view scope, uint32_t shard) const {
  const absl::Time now = absl::Now();
  if (!recent_wait_.Recent(now)) return false;
  absl::MutexLock lock(&mu_);
  auto it = shares_.find(scope);
  return it != shares_.end() && it->second.waiting(shard, now);
}

bool SlotWaitBoard::HeldByOthers(absl::string_view scope, uint32_t shard) const {
  absl::MutexLock lock(&mu_);
  auto it = shares_.find(scope);
  return it != shares_.end() && it->second.held() > it->second.held_by(shard);
}

bool SlotWaitBoard::MayAdd(absl::string_view scope, uint32_t shard) const {
  if (!recent_wait_.Recent(absl::Now())) return true;
  absl::MutexLock lock(&mu_);
  auto it = shares_.find(scope);
  if (it == shares_.end()) return true;
  const absl::Time now = absl::Now();
  return !it->second.OthersWait(shard, now) ||
         it->second.held_by(shard) < it->second.FairShare(now, shard);
}

bool SlotWaitBoard::OthersWait(absl::string_view scope, uint32_t shard) const {
  if (!recent_wait_.Recent(absl::Now())) return false;
  absl::MutexLock lock(&mu_);
  auto it = shares_.find(scope);
  return it != shares_.end() && it->second.OthersWait(shard, absl::Now());
}

bool SlotWaitBoard::ShouldYield(absl::string_view scope, uint32_t shard, uint32_t leaving) const {
  if (!recent_wait_.Recent(absl::Now())) return false;
  absl::MutexLock lock(&mu_);
  auto it = shares_.find(scope);
  return it != shares_.end() && it->second.ShouldYield(shard, absl::Now(), leaving);
}

size_t SlotWaitBoard::scopes() const {
  absl::MutexLock lock(&mu_);
  return shares_.size();
}

void SlotWaitBoard::Tell(const std::vector<uint32_t>& shards, PoolWakeups::Reason why) const {
  if (wakeups_ == nullptr) return;
  for (uint32_t shard : shards) wakeups_->Tell(shard, why);
}

}  // namespace tern::net
