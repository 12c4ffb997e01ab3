// LaneShaper: applies the shaping policy to a lane. Resolve() asks the policy for the
// lane's site and egress source (queue::ShapingPolicy::Resolve), lays the overrides in
// force over it (suspension, `set`, ramp-up: queue::ShapingOverrides), and builds the
// lane's throttle path: its own scope ("<site scope>@<source>", limits from the merged
// options) and the shared ones (provider, source), cells from the process-wide registry,
// so every shard's lanes to a site, provider or source draw from the same cells.
// AdmitConnection() takes a connection token through the whole path, or none.
//
// A message's rate tokens are taken right before its MAIL, after its message was read, so
// the spacing a receiver sees is the spacing of the takes (not of the dispatches, which a
// slow read or a busy loop turn would skew). The lane decides when to read one with
// AdmitRead(): only while the path will have a token for every job already being read (and
// this one) within kReadAhead; a read job then takes its tokens with TakeMessageToken(), or
// gives its place back with CancelRead().
//
//   shaper.Resolve(lane, now);                        // when the lane's site is known
//   shaper.RefreshIfStale(lane, now);                  // before dispatching (cheap)
//   if (absl::Duration wait = shaper.AdmitRead(lane, now); wait > absl::ZeroDuration())
//     ... leave the job queued, wake the lane after `wait` (infinite: at the next take) ...
//   ... read the message ...
//   if (absl::Duration wait = shaper.TakeMessageToken(lane, absl::Now()); wait > zero)
//     ... hold it on its connection for `wait`, or CancelRead() and queue it again ...
//
// Single-threaded per lane (the shard's loop); the state it reads is shared and
// thread-safe.
#pragma once

#include <cstdint>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "delivery/lane.h"
#include "queue/automation_rules.h"
#include "queue/shaping_state.h"
#include "queue/throttle_path.h"

namespace tern::delivery {

class LaneShaper {
 public:
  // `flags_retry`: --retry_schedule and --max_queue_lifetime, what lanes use unless the
  // policy gives them their own.
  LaneShaper(queue::ShapingState* state, const queue::RetrySchedule* flags_retry);

  // (Re)resolves `lane` from its domain, source and MX hosts (lane->mx_hosts, sorted).
  void Resolve(Lane* lane, absl::Time now);
  // Resolve() again when the policy or the overrides changed, or one of them ended.
  void RefreshIfStale(Lane* lane, absl::Time now);
  // How long before its tokens are due a job may be read (the time a read takes, with room).
  static constexpr absl::Duration kReadAhead = absl::Milliseconds(10);

  // Zero: a job may be read now (counted in lane->messages_reading until it takes its tokens
  // or cancels). Otherwise how long to wait; InfiniteDuration: the tokens in sight are for
  // the jobs being read, and lane->read_blocked is set (the lane is woken by a take or a
  // cancel).
  absl::Duration AdmitRead(Lane* lane, absl::Time now);
  // A job admitted by AdmitRead() takes its message tokens through the whole path. Zero:
  // taken (it no longer counts as being read). Otherwise how long to wait (still counted).
  absl::Duration TakeMessageToken(Lane* lane, absl::Time now);
  // A job admitted by AdmitRead() will not take its tokens (its connection went, the read
  // failed, shutdown, or it waits in the lane again).
  void CancelRead(Lane* lane);
  // Zero: a connection may open now, `lease` holds its slots until it closes. Otherwise how
  // long to wait (InfiniteDuration: a connection limit is full, wait for a close).
  absl::Duration AdmitConnection(Lane* lane, absl::Time now, queue::ConnectionLease* lease);

  // Distinct retry schedules kept (beyond: the cache starts over).
  static constexpr size_t kRetrySchedulesMax = 1000;

  // Counters, for tests and metrics.
  uint64_t resolves() const { return resolves_; }
  uint64_t messages_throttled() const { return messages_throttled_; }
  uint64_t connections_throttled() const { return connections_throttled_; }

 private:
  std::shared_ptr<const queue::RetrySchedule> RetryFor(const queue::ShapingOptions& options);

  queue::ShapingState* const state_;
  // Compiled rule lists of the policy they were compiled from (kept alive with it).
  std::shared_ptr<const queue::ShapingPolicy> rules_policy_;
  queue::AutomationRuleCache rules_cache_;
  const queue::RetrySchedule* const flags_retry_;
  // Parsed retry schedules by "steps|lifetime", shared by the lanes that use them.
  absl::flat_hash_map<std::string, std::shared_ptr<const queue::RetrySchedule>> retries_;
  uint64_t resolves_ = 0;
  uint64_t messages_throttled_ = 0;
  uint64_t connections_throttled_ = 0;
};

}  // namespace tern::delivery
