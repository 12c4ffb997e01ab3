// ThrottlePath: every limit a lane's messages and connections must pass, one step per scope
// (the lane's own and the shared ones: default, provider, site, domain, source,
// domain+source), each with the limits the policy in force gives that scope. A lane builds
// its path when it is made and again when the policy or an override changes (the cells
// stay: they come from the ThrottleRegistry), and uses it from its own shard only; the
// cells it points to are shared by all shards.
//
// All or nothing: every cell is checked before any is taken, so a refusal by a later limit
// never burns an earlier one; if a take then loses a race with another shard, the takes
// already made are given back and the wait is returned.
//
//   ThrottlePath path;
//   path.Add(registry.Get("provider:google"), google_options);
//   path.Add(registry.Get("site:aspmx.l.google.com"), site_options);
//   absl::Duration wait = path.TryTakeAll(now);           // per message (transaction)
//   if (wait > absl::ZeroDuration()) { ... leave it queued, look again after wait ... }
//   ConnectionLease lease;
//   wait = path.TryOpenConnection(now, &lease);           // per new connection
//   ... the lease releases the connection slots when destroyed (connection closed) ...
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "queue/rate_spec.h"
#include "queue/scope_throttle.h"

namespace tern::queue {

// The connection slots one open connection holds; releases them when destroyed or reset.
// Move-only. Holds the scopes, so a policy change while connected releases exactly what was
// acquired.
class ConnectionLease {
 public:
  ConnectionLease() = default;
  ConnectionLease(ConnectionLease&& other) noexcept { *this = std::move(other); }
  ConnectionLease& operator=(ConnectionLease&& other) noexcept;
  ConnectionLease(const ConnectionLease&) = delete;
  ConnectionLease& operator=(const ConnectionLease&) = delete;
  ~ConnectionLease() { Reset(); }

  void Reset();
  bool held() const { return !scopes_.empty(); }
  // Runs once, when the slots are released (Reset, destruction, or assignment over it): the
  // holder counts its connections elsewhere too (net/slot_wait_board.h). Only on a held lease.
  void OnRelease(absl::AnyInvocable<void()> hook);
  // The scope keys whose slots it holds (those with a connection limit).
  std::vector<std::string> scope_keys() const;
  size_t scope_count() const { return scopes_.size(); }
  const std::string& scope_key(size_t i) const;

 private:
  friend class ThrottlePath;
  std::vector<std::shared_ptr<ScopeThrottle>> scopes_;
  absl::AnyInvocable<void()> on_release_;
};

class ThrottlePath {
 public:
  // The most scopes one path may have (the policy's six levels and some room).
  static constexpr size_t kStepsMax = 16;
  // The wait returned when a connection limit is full: none will open until one closes.
  static absl::Duration ConnectionLimitWait() { return absl::InfiniteDuration(); }

  struct Limits {
    std::optional<RateSpec> message_rate;
    std::optional<RateSpec> connection_rate;
    std::optional<uint32_t> connection_limit;
  };

  // Adds a scope with its limits (unset: no limit of that kind in this scope).
  void Add(std::shared_ptr<ScopeThrottle> scope, const Limits& limits);
  void Clear() { steps_.clear(); }
  size_t size() const { return steps_.size(); }
  // Step `i`'s scope key and connection limit (nullopt: none there).
  const std::string& step_key(size_t i) const { return steps_.at(i).scope->key; }
  std::optional<uint32_t> step_connection_limit(size_t i) const {
    return steps_.at(i).limits.connection_limit;
  }

  // The longest wait any message-rate cell asks for (zero: all allow). Changes nothing.
  absl::Duration CheckAll(absl::Time now) const;
  // One message through every message-rate cell, or none: returns the wait when refused.
  absl::Duration TryTakeAll(absl::Time now);
  // One connection through every connection-rate cell and connection limit, or none.
  // Zero: granted, `lease` holds the slots. Otherwise the wait (ConnectionLimitWait() when a
  // connection limit is full) and `lease` is left empty.
  absl::Duration TryOpenConnection(absl::Time now, ConnectionLease* lease);
  // Messages the whole path could let through at `at`: the fewest tokens of any message-rate
  // cell (the largest uint64_t when no step has a message rate). Changes nothing.
  uint64_t MessageTokensAll(absl::Time at) const;
  // Whether some step has a message rate.
  bool HasMessageRate() const;
  // Message tokens step `step` could give at `now` (nullopt: no message rate there).
  std::optional<uint64_t> MessageTokens(absl::Time now, size_t step) const;
  // The scope key of the limit that refused the last TryTakeAll or TryOpenConnection
  // ("" when it was granted), for logs and metrics.
  const std::string& blocked_by() const;
  // The connection limit of the step that refused the last TryOpenConnection (nullopt:
  // granted, or refused by a rate).
  std::optional<uint32_t> blocked_connection_limit() const;

 private:
  struct Step {
    std::shared_ptr<ScopeThrottle> scope;
    Limits limits;
    // The rates in the cells' form, computed once here rather than per message.
    std::optional<ThrottleCell::Pace> message_pace;
    std::optional<ThrottleCell::Pace> connection_pace;
  };
  absl::Duration Refuse(size_t step, absl::Duration wait);

  std::vector<Step> steps_;
  std::optional<size_t> blocked_step_;
};

}  // namespace tern::queue
