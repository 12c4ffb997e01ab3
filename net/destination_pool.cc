// Implementation of net/destination_pool.h.
#include "net/destination_pool.h"

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

std::optional<ParkedConnection> Destination::TakeIdle(absl::Time now, std::vector<int>* expired) {
  absl::MutexLock lock(&mu_);
  while (!idle_.empty()) {
    ParkedConnection newest = std::move(idle_.back());
    idle_.pop_back();
    if (now - newest.parked_at < limits_.idle_timeout) return newest;
    expired->push_back(newest.fd);
  }
  return std::nullopt;
}

bool Destination::TryReserveConnection() {
  absl::MutexLock lock(&mu_);
  if (open_ >= limits_.max_connections) return false;
  ++open_;
  return true;
}

void Destination::ConnectionClosed() {
  absl::MutexLock lock(&mu_);
  CHECK_GT(open_, 0u);
  --open_;
}

bool Destination::Park(ParkedConnection connection) {
  CHECK_GE(connection.fd, 0);
  if (connection.messages_sent >= limits_.max_messages_per_connection) return false;
  absl::MutexLock lock(&mu_);
  if (idle_.size() >= limits_.max_idle) return false;
  idle_.push_back(std::move(connection));
  return true;
}

bool Destination::TryTakeSendToken(absl::Time now) {
  if (limits_.max_messages_per_second <= 0) return true;
  absl::MutexLock lock(&mu_);
  const double burst = std::max(1.0, limits_.max_messages_per_second);
  if (tokens_ < 0) {
    tokens_ = burst;
    tokens_at_ = now;
  }
  const double elapsed = absl::ToDoubleSeconds(std::max(now - tokens_at_, absl::ZeroDuration()));
  tokens_ = std::min(burst, tokens_ + elapsed * limits_.max_messages_per_second);
  tokens_at_ = now;
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

std::vector<int> Destination::ExpireIdle(absl::Time now) {
  std::vector<int> expired;
  absl::MutexLock lock(&mu_);
  // Oldest first: the deque is in park order.
  while (!idle_.empty() && now - idle_.front().parked_at >= limits_.idle_timeout) {
    expired.push_back(idle_.front().fd);
    idle_.pop_front();
  }
  return expired;
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
  auto entry = std::make_shared<Destination>(key, limits_);
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
