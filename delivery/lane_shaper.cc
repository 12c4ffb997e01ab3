// Implementation of delivery/lane_shaper.h.
#include "delivery/lane_shaper.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/check.h"

namespace tern::delivery {
namespace {

queue::ThrottlePath::Limits LimitsOf(const queue::ShapingOptions& o) {
  return {.message_rate = o.max_message_rate,
          .connection_rate = o.max_connection_rate,
          .connection_limit = o.connection_limit};
}

}  // namespace

LaneShaper::LaneShaper(queue::ShapingState* state, const queue::RetrySchedule* flags_retry)
    : state_(state), flags_retry_(flags_retry) {
  CHECK(state_ != nullptr && flags_retry_ != nullptr);
}

std::shared_ptr<const queue::RetrySchedule> LaneShaper::RetryFor(
    const queue::ShapingOptions& options) {
  if (!options.retry_schedule.has_value() && !options.max_queue_lifetime.has_value()) {
    return nullptr;  // the flags'
  }
  std::string steps;
  if (options.retry_schedule.has_value()) {
    steps = *options.retry_schedule;
  } else {
    for (const absl::Duration step : flags_retry_->steps()) {
      absl::StrAppend(&steps, steps.empty() ? "" : ",", absl::FormatDuration(step));
    }
  }
  const absl::Duration lifetime =
      options.max_queue_lifetime.value_or(flags_retry_->max_queue_lifetime());
  std::string key = absl::StrCat(steps, "|", absl::FormatDuration(lifetime));
  if (auto it = retries_.find(key); it != retries_.end()) return it->second;
  absl::StatusOr<queue::RetrySchedule> parsed = queue::RetrySchedule::Parse(steps, lifetime);
  if (!parsed.ok()) return nullptr;  // the policy reader checked it: cannot happen
  if (retries_.size() >= kRetrySchedulesMax) retries_.clear();
  auto shared = std::make_shared<const queue::RetrySchedule>(*std::move(parsed));
  retries_.emplace(std::move(key), shared);
  return shared;
}

void LaneShaper::Resolve(Lane* lane, absl::Time now) {
  ++resolves_;
  const uint64_t version = state_->version();
  std::shared_ptr<const queue::ShapingPolicy> policy = state_->policy();
  const std::string site_key = absl::StrJoin(lane->mx_hosts, ",");
  queue::SiteIdentity identity{.domain = lane->domain,
                               .site_key = site_key,
                               .mx_hosts = lane->mx_hosts,
                               .source = lane->source};
  const queue::ResolvedShaping resolved = policy->Resolve(identity);
  lane->provider = resolved.provider_name;
  if (rules_policy_ != policy) {
    rules_cache_.Clear();
    rules_policy_ = policy;
  }
  lane->rules = rules_cache_.Get(resolved.rules);
  // The lane's site: a route is its own; a domain with its own block, or without MX hosts,
  // too; otherwise the MX set (domains with the same MX hosts share it).
  if (!lane->nexthop.mx_lookup && lane->domain.empty()) {
    lane->site_scope = queue::RouteScope(lane->nexthop.host, lane->nexthop.port);
  } else if (resolved.own_site || site_key.empty()) {
    lane->site_scope = queue::DomainScope(lane->domain);
  } else {
    lane->site_scope = queue::SiteScope(site_key);
  }
  lane->override_scopes.clear();
  if (!lane->provider.empty()) {
    lane->override_scopes.push_back(queue::ProviderScope(lane->provider));
  }
  lane->override_scopes.push_back(lane->site_scope);
  if (!lane->domain.empty() && lane->site_scope != queue::DomainScope(lane->domain)) {
    lane->override_scopes.push_back(queue::DomainScope(lane->domain));
  }
  const queue::EffectiveShaping effective =
      state_->overrides().Effective(lane->source, lane->override_scopes, now, resolved.lane);
  lane->options = effective.options;
  lane->retry = RetryFor(lane->options);
  lane->suspended_until = effective.suspended ? effective.until : absl::InfinitePast();
  lane->shaping_next_change = effective.next_change;
  lane->shaping_version = version;

  lane->throttle.Clear();
  lane->throttle.Add(state_->throttles().Get(queue::ForSource(lane->site_scope, lane->source)),
                     LimitsOf(lane->options));
  for (const queue::ThrottleScope& shared : resolved.shared) {
    if (lane->throttle.size() == queue::ThrottlePath::kStepsMax) break;
    lane->throttle.Add(state_->throttles().Get(shared.key),
                       {.message_rate = shared.max_message_rate,
                        .connection_rate = shared.max_connection_rate,
                        .connection_limit = shared.connection_limit});
  }
  auto labels = std::make_shared<LaneLabels>();
  labels->source = lane->source;
  labels->site = lane->site_scope;
  labels->provider = lane->provider;
  lane->labels = std::move(labels);
  lane->shaped = true;
}

void LaneShaper::RefreshIfStale(Lane* lane, absl::Time now) {
  if (!lane->shaped) return;
  if (lane->shaping_version != state_->version() || now >= lane->shaping_next_change) {
    Resolve(lane, now);
  }
}

absl::Duration LaneShaper::AdmitRead(Lane* lane, absl::Time now) {
  DCHECK(lane->shaped);
  if (now < lane->suspended_until) {
    ++messages_throttled_;
    return lane->suspended_until - now;
  }
  if (lane->throttle.MessageTokensAll(now + kReadAhead) > lane->messages_reading) {
    ++lane->messages_reading;
    return absl::ZeroDuration();
  }
  ++messages_throttled_;
  if (lane->messages_reading > 0) {
    lane->read_blocked = true;
    return absl::InfiniteDuration();
  }
  // No token in sight: come back kReadAhead before the next one.
  return std::max(lane->throttle.CheckAll(now) - kReadAhead, absl::Milliseconds(1));
}

absl::Duration LaneShaper::TakeMessageToken(Lane* lane, absl::Time now) {
  DCHECK(lane->shaped);
  CHECK(lane->messages_reading > 0);
  if (now < lane->suspended_until) return lane->suspended_until - now;
  const absl::Duration wait = lane->throttle.TryTakeAll(now);
  if (wait == absl::ZeroDuration()) --lane->messages_reading;
  return wait;
}

void LaneShaper::CancelRead(Lane* lane) {
  CHECK(lane->messages_reading > 0);
  --lane->messages_reading;
}

absl::Duration LaneShaper::AdmitConnection(Lane* lane, absl::Time now,
                                           queue::ConnectionLease* lease) {
  DCHECK(lane->shaped);
  if (now < lane->suspended_until) {
    ++connections_throttled_;
    return lane->suspended_until - now;
  }
  const absl::Duration wait = lane->throttle.TryOpenConnection(now, lease);
  if (wait > absl::ZeroDuration()) ++connections_throttled_;
  return wait;
}

}  // namespace tern::delivery
