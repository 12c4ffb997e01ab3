// ShapingState: everything about traffic shaping that all shards share, made once by the
// composition root (tools/ternd) and handed to every shard's delivery agent:
//
//   policy      the shaping policy in force (--shaping=FILE; built-in defaults without
//               one), swapped whole on SIGHUP; lanes re-resolve when policy_version() moves
//   throttles   GCRA cells and connection slots per scope key (queue/throttle_registry.h)
//   site health dead-destination delays per site (queue/site_health.h)
//   overrides   suspensions and `set`s from automation rules and ternctl, persisted in
//               the state file (queue/shaping_overrides.h)
//
// Scope keys (one vocabulary for throttles, overrides, ternctl and metrics):
//   site:<mx1,mx2,...>     a site: the sorted MX host names of a domain (MX rollup)
//   domain:<domain>        a domain (its own site when the policy has a block for it, or
//                          when it has no MX and is reached by its address records)
//   route:<host>:<port>    a --route or --smarthost next hop
//   provider:<name>        a provider block of the policy
//   source:<name>          an egress source (all its traffic)
// A lane's own throttle key is its site scope plus "@<source>" (source "" for the
// kernel's address): every limit is per egress source, as receivers count per sending IP.
//
// Thread-safe: the policy pointer under a mutex (read when a lane is built, never per
// message); the rest are thread-safe themselves.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "queue/shaping_overrides.h"
#include "queue/shaping_policy.h"
#include "queue/site_health.h"
#include "queue/throttle_registry.h"
#include "queue/trigger_counters.h"

namespace tern::queue {

std::string SiteScope(absl::string_view site_key);
std::string DomainScope(absl::string_view domain);
std::string RouteScope(absl::string_view host, uint16_t port);
std::string ProviderScope(absl::string_view provider);
std::string SourceScope(absl::string_view source);
// Whether a scope's limits hold for many sites together: a provider's or a source's (the
// others are one destination's: a site, a domain, a route).
bool IsSharedByManySites(absl::string_view scope_key);
// "<scope>@<source>": a scope's throttle key for one egress source.
std::string ForSource(absl::string_view scope, absl::string_view source);

class ShapingState {
 public:
  // `policy` null: an empty policy. `state_file` empty: overrides are not persisted.
  // `base`: what every lane starts from before the policy's blocks (the built-in defaults
  // with ternd's flags laid over them); every policy set here gets it.
  ShapingState(std::shared_ptr<const ShapingPolicy> policy, std::string state_file,
               const ShapingOptions& base = ShapingOptions::BuiltInDefaults());
  ShapingState(const ShapingState&) = delete;
  ShapingState& operator=(const ShapingState&) = delete;

  std::shared_ptr<const ShapingPolicy> policy() const;
  // A new policy (SIGHUP): throttle state is kept (cells are keyed by scope).
  void SetPolicy(std::shared_ptr<const ShapingPolicy> policy);
  // Moves with every SetPolicy and every change of the overrides.
  uint64_t version() const {
    return policy_version_.load(std::memory_order_acquire) + overrides_.version();
  }

  ThrottleRegistry& throttles() { return throttles_; }
  SiteHealthTable& site_health() { return site_health_; }
  ShapingOverrides& overrides() { return overrides_; }
  // Threshold triggers of automation rules, counted for all shards.
  TriggerCounters& triggers() { return triggers_; }
  const ShapingOverrides& overrides() const { return overrides_; }
  const std::string& state_file() const { return state_file_; }

  // Restores the persisted overrides (start-up). A missing file is an empty state.
  absl::Status Load(absl::Time now);
  // Writes the overrides when they changed since the last save (or always with `force`);
  // called off the shard threads (it does file I/O), e.g. once a second.
  absl::Status SaveIfChanged(absl::Time now, bool force = false);

 private:
  std::shared_ptr<const ShapingPolicy> WithBase(std::shared_ptr<const ShapingPolicy> policy) const;

  const ShapingOptions base_;
  mutable absl::Mutex mutex_;
  std::shared_ptr<const ShapingPolicy> policy_ ABSL_GUARDED_BY(mutex_);
  std::atomic<uint64_t> policy_version_{1};
  ThrottleRegistry throttles_;
  SiteHealthTable site_health_;
  ShapingOverrides overrides_;
  TriggerCounters triggers_;
  const std::string state_file_;
  absl::Mutex save_mutex_;
  uint64_t saved_version_ ABSL_GUARDED_BY(save_mutex_) = 0;
};

}  // namespace tern::queue
