// Implementation of net/destination_pool.h.
#include "net/destination_pool.h"

#include <unistd.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "core/check.h"

namespace tern::net {

std::string DestinationKey::ToString() const {
  const bool v6 = host.find(':') != std::string::npos;
  std::string text = v6 ? absl::StrCat("[", host, "]:", port) : absl::StrCat(host, ":", port);
  if (!source.empty()) absl::StrAppend(&text, " from ", source);
  return text;
}

std::optional<ParkedConnection> Destination::TakeIdle(absl::Time now, uint32_t shard) {
  std::vector<int> expired;
  std::vector<uint32_t> holders;
  std::optional<ParkedConnection> taken;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time clock = absl::Now();
    while (!idle_.empty() && !taken.has_value()) {
      if (!shares_.MayAdd(shard, clock)) {
        // Another shard waits and this one has its share: the parked ones are for it.
        if (!shares_.waiting(shard, clock)) holders = shares_.HoldersOtherThan(shard);
        shares_.Wait(shard, clock);
        recent_wait_.Mark(clock);
        break;
      }
      ParkedConnection newest = std::move(idle_.back());
      idle_.pop_back();
      if (now - newest.parked_at < limits_.idle_timeout) {
        shares_.Add(shard);
        taken = std::move(newest);
      } else {
        expired.push_back(newest.fd);
        CHECK_GT(open_, 0u);
        --open_;
      }
    }
  }
  for (int fd : expired) ::close(fd);
  Tell(holders, PoolWakeups::Reason::kSomeoneWaits);
  return taken;
}

bool Destination::TryReserveConnection(uint32_t shard) {
  std::vector<uint32_t> holders;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time clock = absl::Now();
    if (open_ < limits_.max_connections && shares_.MayAdd(shard, clock)) {
      ++open_;
      shares_.Add(shard);
      return true;
    }
    // A new wait: the shards holding connections learn that someone waits (one may have
    // idle connections to give back, or more than its share).
    if (!shares_.waiting(shard, clock)) holders = shares_.HoldersOtherThan(shard);
    shares_.Wait(shard, clock);
    recent_wait_.Mark(clock);
  }
  Tell(holders, PoolWakeups::Reason::kSomeoneWaits);
  return false;
}

void Destination::ConnectionClosed(uint32_t shard) {
  std::vector<uint32_t> waiters;
  {
    absl::MutexLock lock(&mu_);
    CHECK_GT(open_, 0u);
    --open_;
    shares_.Remove(shard);
    waiters = shares_.Waiters(absl::Now());
  }
  Tell(waiters, PoolWakeups::Reason::kSlotMayBeFree);
}

bool Destination::Park(ParkedConnection connection, uint32_t shard) {
  CHECK_GE(connection.fd, 0);
  if (connection.messages_sent >= limits_.max_messages_per_connection) return false;
  std::vector<uint32_t> waiters;
  {
    absl::MutexLock lock(&mu_);
    if (idle_.size() >= limits_.max_idle) return false;
    idle_.push_back(std::move(connection));
    shares_.Remove(shard);  // still open, but nobody's until taken
    waiters = shares_.Waiters(absl::Now());
  }
  Tell(waiters, PoolWakeups::Reason::kSlotMayBeFree);
  return true;
}

bool Destination::ShouldYield(uint32_t shard, uint32_t leaving) const {
  const absl::Time now = absl::Now();
  if (!recent_wait_.Recent(now)) return false;
  absl::MutexLock lock(&mu_);
  return shares_.ShouldYield(shard, now, leaving);
}

bool Destination::OthersWait(uint32_t shard) const {
  const absl::Time now = absl::Now();
  if (!recent_wait_.Recent(now)) return false;
  absl::MutexLock lock(&mu_);
  return shares_.OthersWait(shard, now);
}

void Destination::StopWaiting(uint32_t shard) {
  if (!recent_wait_.Recent(absl::Now())) return;
  absl::MutexLock lock(&mu_);
  shares_.StopWaiting(shard);
}

void Destination::Tell(const std::vector<uint32_t>& shards, PoolWakeups::Reason why) const {
  if (wakeups_ == nullptr) return;
  for (uint32_t shard : shards) wakeups_->Tell(shard, why);
}

size_t Destination::ExpireIdle(absl::Time now) {
  std::vector<int> expired;
  std::vector<uint32_t> waiters;
  {
    absl::MutexLock lock(&mu_);
    // Oldest first: the deque is in park order.
    while (!idle_.empty() && now - idle_.front().parked_at >= limits_.idle_timeout) {
      expired.push_back(idle_.front().fd);
      idle_.pop_front();
      CHECK_GT(open_, 0u);
      --open_;
    }
    if (!expired.empty()) waiters = shares_.Waiters(absl::Now());
  }
  for (int fd : expired) ::close(fd);
  Tell(waiters, PoolWakeups::Reason::kSlotMayBeFree);
  return expired.size();
}

uint32_t Destination::open_connections() const {
  absl::MutexLock lock(&mu_);
  return open_;
}

void Destination::SaveTlsSession(SSL_SESSION* session) {
  if (session == nullptr) return;
  std::shared_ptr<SSL_SESSION> owned(session, SSL_SESSION_free);
  absl::MutexLock lock(&mu_);
  tls_session_ = std::move(owned);
}

SSL_SESSION* Destination::TlsSessionForResumption() const {
  absl::MutexLock lock(&mu_);
  if (tls_session_ == nullptr) return nullptr;
  SSL_SESSION_up_ref(tls_session_.get());
  return tls_session_.get();
}

void Destination::MarkTlsBroken(absl::Time until) {
  absl::MutexLock lock(&mu_);
  tls_broken_until_ = until;
}

bool Destination::TlsBroken(absl::Time now) const {
  absl::MutexLock lock(&mu_);
  return now < tls_broken_until_;
}

void Destination::MarkPipeliningRefused(absl::Time until) {
  absl::MutexLock lock(&mu_);
  pipelining_refused_until_ = until;
}

bool Destination::PipeliningRefused(absl::Time now) const {
  absl::MutexLock lock(&mu_);
  return now < pipelining_refused_until_;
}

size_t Destination::idle_connections() const {
  absl::MutexLock lock(&mu_);
  return idle_.size();
}

std::shared_ptr<Destination> DestinationPools::Get(const DestinationKey& key) {
  absl::MutexLock lock(&mu_);
  auto it = map_.find(key);
  if (it != map_.end()) return it->second;
  if (map_.size() >= kDestinationsMax) {
    // Forget destinations nobody holds and that have nothing open.
    for (auto i = map_.begin(); i != map_.end();) {
      auto next = std::next(i);
      if (i->second.use_count() == 1 && i->second->open_connections() == 0) map_.erase(i);
      i = next;
    }
  }
  auto entry = std::make_shared<Destination>(key, limits_, &wakeups_);
  map_.emplace(key, entry);
  return entry;
}

size_t DestinationPools::size() const {
  absl::MutexLock lock(&mu_);
  return map_.size();
}

std::vector<std::shared_ptr<Destination>> DestinationPools::Snapshot() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::shared_ptr<Destination>> all;
  all.reserve(map_.size());
  for (const auto& [key, entry] : map_) all.push_back(entry);
  return all;
}

}  // namespace tern::net
