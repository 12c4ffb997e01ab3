// Implementation of queue/site_health.h.
#include "queue/site_health.h"

#include <algorithm>
#include <utility>

#include "core/check.h"
#include "core/utf8.h"

namespace tern::queue {
namespace {

constexpr size_t kFailureTextBytesMax = 300;

}  // namespace

SiteHealth::Admission SiteHealth::Admit(absl::Time now, uint32_t shard) {
  CHECK(shard < core::kShardsMax);
  absl::MutexLock lock(&mutex_);
  if (attempts_running_ > 0 && now - oldest_running_ > kProbeTimeout) {
    attempts_running_ = 0;  // their shards never said how they ended
  }
  if (now < delayed_until_) {
    return {.verdict = Verdict::kWait, .until = delayed_until_, .delayed = true};
  }
  if (!tested_) {
    // Untested or delayed-and-due: a few attempts (after a delay, one: the probe) decide.
    const uint32_t cap = consecutive_failures_ > 0 ? 1 : kUntestedAttemptsMax;
    if (attempts_running_ >= cap) {
      if (std::find(waiters_.begin(), waiters_.end(), shard) == waiters_.end()) {
        waiters_.push_back(shard);
      }
      DCHECK(waiters_.size() <= core::kShardsMax);
      return {.verdict = Verdict::kWait, .until = absl::InfiniteFuture()};
    }
  }
  if (attempts_running_ == 0) oldest_running_ = now;
  ++attempts_running_;
  return {.verdict = Verdict::kOpen};
}

void SiteHealth::NoteAttemptAbandoned() {
  absl::InlinedVector<uint32_t, 2> waiters;
  {
    absl::MutexLock lock(&mutex_);
    if (attempts_running_ > 0) --attempts_running_;
    waiters.swap(waiters_);
  }
  WakeWaiters(std::move(waiters));
}

void SiteHealth::WakeWaiters(absl::InlinedVector<uint32_t, 2> waiters) const {
  if (wake_ == nullptr) return;
  for (const uint32_t shard : waiters) (*wake_)(shard);
}

bool SiteHealth::NoteAttemptEnded(absl::Time now, bool ok, const ShapingOptions& options,
                                  absl::string_view why) {
  absl::InlinedVector<uint32_t, 2> waiters;
  const bool delayed = RecordAttemptEnd(now, ok, options, why, &waiters);
  WakeWaiters(std::move(waiters));
  return delayed;
}

bool SiteHealth::RecordAttemptEnd(absl::Time now, bool ok, const ShapingOptions& options,
                                  absl::string_view why,
                                  absl::InlinedVector<uint32_t, 2>* waiters) {
  absl::MutexLock lock(&mutex_);
  if (attempts_running_ > 0) --attempts_running_;
  waiters->swap(waiters_);  // admitted now, or delayed (they defer), or next in line
  if (ok) {
    tested_ = true;
    consecutive_failures_ = 0;
    delayed_until_ = absl::InfinitePast();
    next_delay_ = absl::ZeroDuration();
    return false;
  }
  tested_ = false;
  ++consecutive_failures_;
  last_failure_ = std::string(core::Utf8Prefix(why, kFailureTextBytesMax));
  const uint32_t threshold =
      std::max<uint32_t>(1, options.consecutive_connection_failures_before_delay.value_or(3));
  if (consecutive_failures_ < threshold) return false;

  const absl::Duration first = options.connection_failure_delay.value_or(absl::Minutes(1));
  const absl::Duration most =
      std::max(first, options.connection_failure_delay_max.value_or(absl::Hours(1)));
  if (now < delayed_until_) return false;  // attempts still running when it was delayed
  next_delay_ = next_delay_ == absl::ZeroDuration() ? first : std::min(next_delay_ * 2, most);
  delayed_until_ = now + next_delay_;
  ++delays_;
  DCHECK(next_delay_ <= most);
  return true;
}

SiteHealth::Snapshot SiteHealth::Read() const {
  absl::MutexLock lock(&mutex_);
  return {.key = key_,
          .delayed = delayed_until_ != absl::InfinitePast(),
          .delayed_until = delayed_until_,
          .consecutive_failures = consecutive_failures_,
          .next_delay = next_delay_,
          .last_failure = last_failure_,
          .delays = delays_};
}

void SiteHealthTable::SetWake(SiteHealth::Wake wake) {
  absl::MutexLock lock(&mutex_);
  wake_ = wake != nullptr ? std::make_shared<const SiteHealth::Wake>(std::move(wake)) : nullptr;
}

std::shared_ptr<SiteHealth> SiteHealthTable::Get(absl::string_view key) {
  absl::MutexLock lock(&mutex_);
  auto it = sites_.find(key);
  if (it != sites_.end()) return it->second;
  auto health = std::make_shared<SiteHealth>(std::string(key), wake_);
  if (sites_.size() < kSitesMax) sites_.emplace(std::string(key), health);
  return health;  // beyond the bound: this lane's own, unshared
}

std::vector<SiteHealth::Snapshot> SiteHealthTable::Troubled() const {
  std::vector<std::shared_ptr<SiteHealth>> all;
  {
    absl::MutexLock lock(&mutex_);
    all.reserve(sites_.size());
    for (const auto& [key, health] : sites_) all.push_back(health);
  }
  std::vector<SiteHealth::Snapshot> out;
  for (const auto& health : all) {
    SiteHealth::Snapshot s = health->Read();
    if (s.delayed || s.consecutive_failures > 0) out.push_back(std::move(s));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
  return out;
}

size_t SiteHealthTable::Sweep() {
  absl::MutexLock lock(&mutex_);
  size_t dropped = 0;
  for (auto it = sites_.begin(); it != sites_.end();) {
    const SiteHealth::Snapshot s = it->second->Read();
    if (it->second.use_count() == 1 && !s.delayed && s.consecutive_failures == 0) {
      sites_.erase(it++);
      ++dropped;
    } else {
      ++it;
    }
  }
  return dropped;
}

size_t SiteHealthTable::size() const {
  absl::MutexLock lock(&mutex_);
  return sites_.size();
}

}  // namespace tern::queue
