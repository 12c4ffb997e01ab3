// Implementation of queue/throttle_path.h.
#include "queue/throttle_path.h"

#include <algorithm>
#include <array>
#include <limits>
#include <utility>

#include "core/check.h"

namespace tern::queue {

ConnectionLease& ConnectionLease::operator=(ConnectionLease&& other) noexcept {
  if (this != &other) {
    Reset();
    scopes_ = std::move(other.scopes_);
    other.scopes_.clear();
    on_release_ = std::move(other.on_release_);
    other.on_release_ = nullptr;
  }
  return *this;
}

void ConnectionLease::Reset() {
  for (const auto& scope : scopes_) scope->connections.Release();
  scopes_.clear();
  if (on_release_) std::exchange(on_release_, nullptr)();
}

void ConnectionLease::OnRelease(absl::AnyInvocable<void()> hook) {
  CHECK(held());
  on_release_ = std::move(hook);
}

std::vector<std::string> ConnectionLease::scope_keys() const {
  std::vector<std::string> keys;
  keys.reserve(scopes_.size());
  for (const auto& scope : scopes_) keys.push_back(scope->key);
  return keys;
}

const std::string& ConnectionLease::scope_key(size_t i) const {
  CHECK_LT(i, scopes_.size());
  return scopes_[i]->key;
}

void ThrottlePath::Add(std::shared_ptr<ScopeThrottle> scope, const Limits& limits) {
  CHECK(scope != nullptr);
  CHECK_LT(steps_.size(), kStepsMax);
  Step step{std::move(scope), limits, std::nullopt, std::nullopt};
  if (limits.message_rate) step.message_pace = ThrottleCell::Pace::Of(*limits.message_rate);
  if (limits.connection_rate) {
    step.connection_pace = ThrottleCell::Pace::Of(*limits.connection_rate);
  }
  steps_.push_back(std::move(step));
  blocked_step_.reset();
}

absl::Duration ThrottlePath::Refuse(size_t step, absl::Duration wait) {
  CHECK_GT(wait, absl::ZeroDuration());
  blocked_step_ = step;
  return wait;
}

std::optional<uint32_t> ThrottlePath::blocked_connection_limit() const {
  if (!blocked_step_.has_value()) return std::nullopt;
  const Step& step = steps_[*blocked_step_];
  if (!step.limits.connection_limit.has_value()) return std::nullopt;
  // Refused by this step's limit only if it is full (else its rate refused).
  if (step.scope->connections.open() < *step.limits.connection_limit) return std::nullopt;
  return step.limits.connection_limit;
}

const std::string& ThrottlePath::blocked_by() const {
  static const std::string kNone;
  return blocked_step_.has_value() ? steps_[*blocked_step_].scope->key : kNone;
}

absl::Duration ThrottlePath::CheckAll(absl::Time now) const {
  absl::Duration longest = absl::ZeroDuration();
  for (const Step& step : steps_) {
    if (!step.message_pace.has_value()) continue;
    longest = std::max(longest, step.scope->message_rate.Check(now, *step.message_pace));
  }
  return longest;
}

uint64_t ThrottlePath::MessageTokensAll(absl::Time at) const {
  uint64_t fewest = std::numeric_limits<uint64_t>::max();
  for (const Step& step : steps_) {
    if (!step.message_pace.has_value()) continue;
    fewest = std::min(fewest, step.scope->message_rate.Available(at, *step.message_pace));
  }
  return fewest;
}

bool ThrottlePath::HasMessageRate() const {
  for (const Step& step : steps_) {
    if (step.message_pace.has_value()) return true;
  }
  return false;
}

std::optional<uint64_t> ThrottlePath::MessageTokens(absl::Time now, size_t step) const {
  if (step >= steps_.size() || !steps_[step].message_pace.has_value()) return std::nullopt;
  return steps_[step].scope->message_rate.Available(now, *steps_[step].message_pace);
}

absl::Duration ThrottlePath::TryTakeAll(absl::Time now) {
  blocked_step_.reset();
  // First pass: the longest wait, without touching any cell.
  absl::Duration longest = absl::ZeroDuration();
  size_t longest_step = 0;
  for (size_t i = 0; i < steps_.size(); ++i) {
    const Step& step = steps_[i];
    if (!step.message_pace.has_value()) continue;
    const absl::Duration wait = step.scope->message_rate.Check(now, *step.message_pace);
    if (wait > longest) {
      longest = wait;
      longest_step = i;
    }
  }
  if (longest > absl::ZeroDuration()) return Refuse(longest_step, longest);
  // Second pass: take; another shard may have taken the last token meanwhile.
  for (size_t i = 0; i < steps_.size(); ++i) {
    Step& step = steps_[i];
    if (!step.message_pace.has_value()) continue;
    const absl::Duration wait = step.scope->message_rate.TryTake(now, *step.message_pace);
    if (wait == absl::ZeroDuration()) continue;
    for (size_t j = 0; j < i; ++j) {
      if (steps_[j].message_pace.has_value()) {
        steps_[j].scope->message_rate.GiveBack(*steps_[j].message_pace);
      }
    }
    return Refuse(i, wait);
  }
  return absl::ZeroDuration();
}

absl::Duration ThrottlePath::TryOpenConnection(absl::Time now, ConnectionLease* lease) {
  CHECK(lease != nullptr);
  CHECK(!lease->held());
  blocked_step_.reset();
  // First pass: connection limits full, then the longest rate wait; nothing touched.
  absl::Duration longest = absl::ZeroDuration();
  size_t longest_step = 0;
  for (size_t i = 0; i < steps_.size(); ++i) {
    const Step& step = steps_[i];
    if (step.limits.connection_limit.has_value() &&
        step.scope->connections.open() >= *step.limits.connection_limit) {
      return Refuse(i, ConnectionLimitWait());
    }
    if (!step.connection_pace.has_value()) continue;
    const absl::Duration wait = step.scope->connection_rate.Check(now, *step.connection_pace);
    if (wait > longest) {
      longest = wait;
      longest_step = i;
    }
  }
  if (longest > absl::ZeroDuration()) return Refuse(longest_step, longest);
  // Second pass: the slots, then the rate cells; any refusal undoes what was taken.
  std::array<bool, kStepsMax> rate_taken{};
  absl::Duration refused = absl::ZeroDuration();
  size_t refused_step = 0;
  for (size_t i = 0; i < steps_.size() && refused == absl::ZeroDuration(); ++i) {
    Step& step = steps_[i];
    if (!step.limits.connection_limit.has_value()) continue;
    if (!step.scope->connections.TryAcquire(*step.limits.connection_limit)) {
      refused = ConnectionLimitWait();
      refused_step = i;
    } else {
      lease->scopes_.push_back(step.scope);
    }
  }
  for (size_t i = 0; i < steps_.size() && refused == absl::ZeroDuration(); ++i) {
    Step& step = steps_[i];
    if (!step.connection_pace.has_value()) continue;
    const absl::Duration wait = step.scope->connection_rate.TryTake(now, *step.connection_pace);
    if (wait == absl::ZeroDuration()) {
      rate_taken[i] = true;
    } else {
      refused = wait;
      refused_step = i;
    }
  }
  if (refused == absl::ZeroDuration()) return absl::ZeroDuration();
  for (size_t i = 0; i < steps_.size(); ++i) {
    if (rate_taken[i]) steps_[i].scope->connection_rate.GiveBack(*steps_[i].connection_pace);
  }
  lease->Reset();
  return Refuse(refused_step, refused);
}

}  // namespace tern::queue
