// Implementation of delivery/delivery_agent.h: scheduling, lanes and connections. The
// operator's actions and the destination rows are in delivery_agent_operator.cc.
#include "delivery/delivery_agent.h"

#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "core/check.h"
#include "core/log.h"
#include "delivery/message_headers.h"
#include "delivery/suppressed_recipients.h"
#include "net/smtp/address.h"

namespace tern::delivery {

DeliveryAgent::DeliveryAgent(const DeliveryAgentDeps& deps, DeliveryCounters* counters,
                             net::smtp::ClientCounters* client_counters)
    : loop_(deps.loop),
      spool_(deps.spool),
      resolver_(deps.resolver),
      pools_(deps.pools),
      config_(*deps.config),
      counters_(counters),
      routes_(std::make_shared<const RouteTable>(deps.config->routes)),
      egress_(deps.config->egress),
      selector_(egress_ != nullptr ? std::make_unique<SourceSelector>(egress_) : nullptr),
      own_shaping_(deps.shaping != nullptr ? nullptr
                                           : std::make_unique<queue::ShapingState>(nullptr, "")),
      shaping_(deps.shaping != nullptr ? deps.shaping : own_shaping_.get()),
      recorder_({.loop = deps.loop,
                 .spool = deps.spool,
                 .log = deps.log,
                 .config = deps.config,
                 .counters = counters,
                 .stats = &stats_,
                 .listener = this,
                 .events = deps.events}),
      reads_(deps.loop, deps.spool, deps.config->dkim, counters),
      connector_({.loop = deps.loop,
                  .transport = deps.transport,
                  .resolver = deps.resolver,
                  .pools = deps.pools,
                  .shard = deps.shard,
                  .config = deps.config,
                  .counters = counters,
                  .client_counters = client_counters,
                  .connection_owner = this,
                  .owner = this}),
      shaper_(shaping_, &deps.config->retry),
      reactor_(shaping_),
      scheduled_(deps.loop,
                 [this](uint64_t queue_id) {
                   ScheduleMessage(queue_id);
                   UpdateGauges();
                 }),
      pool_wake_(deps.loop, &deps.pools->wakeups(), deps.shard, this) {
  CHECK(loop_ != nullptr && spool_ != nullptr && pools_ != nullptr);
}

DeliveryAgent::~DeliveryAgent() {
  // The shard destroys the agent once idle(): no connection or callback refers to it.
  DCHECK(connections_.empty());
  for (auto& [key, lane] : lanes_) loop_->timers().Cancel(lane->wake.get());
}

void DeliveryAgent::Start() {
  started_ = true;
  const int64_t now_us = absl::ToUnixMicros(loop_->now());
  for (const auto& [id, entry] : spool_->index()) {
    if (entry.held() || entry.finished()) continue;
    scheduled_.Add(id, std::min(entry.next_attempt_unix_us(), now_us));
  }
  TERN_LOG(kInfo, "delivery: %d queued messages to schedule", scheduled_.size());
  loop_->timers().Arm(&maintenance_timer_, loop_->now() + config_.maintenance_interval);
  UpdateGauges();
}

void DeliveryAgent::Enqueue(uint64_t queue_id) {
  if (!started_ || stopping_) return;
  ScheduleMessage(queue_id);
  UpdateGauges();
}

void DeliveryAgent::ScheduleMessage(uint64_t queue_id) {
  if (stopping_ || active_.contains(queue_id)) return;
  scheduled_.Remove(queue_id);
  const spool::QueueEntry* entry = spool_->index().Find(queue_id);
  if (entry == nullptr || entry->held() || entry->finished()) return;
  DeliveryCounters::Add(counters_->messages_scheduled);
  ActiveMessage& active = active_[queue_id];
  active.attempt = entry->attempts() + 1;
  active.generation = next_generation_++;

  std::vector<uint32_t> left;
  for (uint32_t i = 0; i < entry->recipient_count(); ++i) {
    if (!spool::IsFinalRecipientState(entry->recipient_state(i))) left.push_back(i);
  }
  // Recipients on the suppression list (since the message was queued, or accepted under
  // --suppressed_action=drop): recorded at once, never sent.
  std::vector<RecipientOutcome> suppressed;
  if (config_.suppression != nullptr) {
    suppressed = TakeSuppressedRecipients(config_.suppression->index(), *entry,
                                          absl::ToUnixSeconds(loop_->now()), &left);
  }
  const uint32_t suppressed_jobs = suppressed.empty() ? 0 : 1;
  if (!suppressed.empty()) {
    std::vector<uint32_t> ids;
    for (const RecipientOutcome& o : suppressed) ids.push_back(o.recipient);
    active.jobs_left = 1;  // at least; set again below before any job can be recorded
    recorder_.Complete(
        DeliveryJob{.queue_id = queue_id, .recipients = std::move(ids), .attempt = active.attempt},
        std::move(suppressed), "", std::nullopt);
    if (left.empty()) return;
  }
  const absl::Time received = absl::FromUnixMicros(entry->received_unix_us());
  if (config_.retry.Expired(received, loop_->now())) {
    // Temporary failures of an expired message become EXPIRED (with a DSN).
    active.jobs_left = 1 + suppressed_jobs;
    recorder_.Fail(
        DeliveryJob{.queue_id = queue_id, .recipients = std::move(left), .attempt = active.attempt},
        net::smtp::DeliveryOutcome::kTempFailed, 451, "4.4.7",
        "delivery time expired (--max_queue_lifetime)", "");
    return;
  }

  // Group the recipients by next hop, then split over-long lists.
  std::vector<std::pair<Lane*, DeliveryJob>> jobs;
  std::vector<uint32_t> no_domain;
  // The message's egress pool (decided at reception), and the source picked from it per
  // next hop for this attempt (smooth weighted round robin per pool and site).
  const EgressPool* pool = PoolOf(*entry);
  std::vector<std::pair<Nexthop, const EgressSource*>> picked;
  for (uint32_t i : left) {
    const absl::string_view domain = net::smtp::DomainOf(entry->recipient(i));
    if (domain.empty()) {
      no_domain.push_back(i);
      continue;
    }
    const std::string lower = absl::AsciiStrToLower(domain);
    const Nexthop nexthop = routes_->Lookup(lower);
    const EgressSource* source = nullptr;
    if (pool != nullptr) {
      auto it = std::find_if(picked.begin(), picked.end(),
                             [&](const auto& p) { return p.first == nexthop; });
      if (it == picked.end()) {
        source = selector_->Pick(*pool, LaneKey(nexthop), [](const EgressSource&) { return true; });
        picked.push_back({nexthop, source});
      } else {
        source = it->second;
      }
    }
    Lane* lane = LaneFor(nexthop, lower, source);
    auto same = std::find_if(jobs.begin(), jobs.end(), [&](const auto& j) {
      return j.first == lane && j.second.recipients.size() < net::smtp::kTransactionRecipientsMax;
    });
    if (same == jobs.end()) {
      jobs.push_back({lane, DeliveryJob{.queue_id = queue_id,
                                        .attempt = active.attempt,
                                        .generation = active.generation,
                                        .pool = pool != nullptr ? pool->name : ""}});
      same = jobs.end() - 1;
    }
    same->second.recipients.push_back(i);
  }
  active.jobs_left =
      static_cast<uint32_t>(jobs.size()) + (no_domain.empty() ? 0 : 1) + suppressed_jobs;
  if (!no_domain.empty()) {
    recorder_.Fail(
        DeliveryJob{
            .queue_id = queue_id, .recipients = std::move(no_domain), .attempt = active.attempt},
        net::smtp::DeliveryOutcome::kPermFailed, 550, "5.1.2",
        "recipient address has no domain to deliver to", "");
  }
  std::vector<Lane*> touched;
  for (auto& [lane, job] : jobs) {
    // A lane whose policy gives a shorter lifetime than the flags: expired there already.
    if (lane->retry != nullptr && lane->retry->Expired(received, loop_->now())) {
      job.retry = lane->retry;
      recorder_.Fail(std::move(job), net::smtp::DeliveryOutcome::kTempFailed, 451, "4.4.7",
                     "delivery time expired (max_queue_lifetime of the shaping policy)",
                     lane->nexthop.host);
      continue;
    }
    QueueOnLane(lane, std::move(job));
    if (std::find(touched.begin(), touched.end(), lane) == touched.end()) touched.push_back(lane);
  }
  for (Lane* lane : touched) Dispatch(lane);
}

const EgressPool* DeliveryAgent::PoolOf(const spool::QueueEntry& entry) const {
  if (egress_ == nullptr) return nullptr;
  if (const absl::string_view name = entry.pool(); !name.empty()) {
    if (const EgressPool* pool = egress_->FindPool(name)) return pool;
    // Its pool is gone from the flags since it was received: the default pool then.
  }
  return egress_->default_pool();
}

Lane* DeliveryAgent::LaneFor(const Nexthop& nexthop, absl::string_view domain,
                             const EgressSource* source) {
  // A routed domain with a block of its own in the policy gets a lane of its own (its
  // limits are its own); other routed domains share the route's lane.
  if (shaping_->version() != policy_version_) {
    policy_version_ = shaping_->version();
    policy_ = shaping_->policy();
  }
  const bool own_route_lane = !nexthop.mx_lookup && policy_->HasDomainBlocks(domain);
  std::string key =
      own_route_lane ? absl::StrCat("domain:", domain, "|", LaneKey(nexthop)) : LaneKey(nexthop);
  if (source != nullptr) absl::StrAppend(&key, "@", source->name);
  auto it = lanes_.find(key);
  if (it != lanes_.end()) return it->second.get();
  auto lane = std::make_unique<Lane>();
  lane->key = key;
  lane->nexthop = nexthop;
  lane->tls = config_.tls_client == nullptr ? net::smtp::StartTlsPolicy::kNever
                                            : config_.tls_policies.Lookup(nexthop.host);
  lane->health = shaping_->site_health().Get(lane->key);
  lane->domain = nexthop.mx_lookup ? nexthop.host : own_route_lane ? std::string(domain) : "";
  lane->wake = std::make_unique<LaneWakeTimer>(this, lane.get());
  lane->client = ClientConfigFor(source);
  if (source != nullptr) {
    CHECK(egress_ != nullptr && egress_->FindSource(source->name) == source);  // egress_'s own
    lane->source = source->name;
    lane->egress = source;
    lane->egress_config = egress_;
  }
  Lane* raw = lane.get();
  lanes_.emplace(std::move(key), std::move(lane));
  if (nexthop.mx_lookup && resolver_ != nullptr) {
    // Its site (the MX set) decides its shaping: jobs wait for the lookup, which the
    // connector's own lookup then finds in the resolver's cache.
    raw->resolving = true;
    ++lanes_resolving_;
    resolver_->ResolveMx(raw->domain, [this, raw](absl::StatusOr<net::dns::MxResult> mx) {
      --lanes_resolving_;
      raw->resolving = false;
      OnLaneSiteKnown(raw, std::move(mx));
    });
  } else {
    shaper_.Resolve(raw, loop_->now());
  }
  return raw;
}

void DeliveryAgent::OnLaneSiteKnown(Lane* lane, absl::StatusOr<net::dns::MxResult> mx) {
  lane->mx_hosts.clear();
  if (mx.ok() && !mx->null_mx && !mx->implicit) {
    for (const net::dns::MxHost& host : mx->hosts) {
      lane->mx_hosts.push_back(absl::AsciiStrToLower(absl::StripSuffix(host.host, ".")));
    }
    std::sort(lane->mx_hosts.begin(), lane->mx_hosts.end());
    lane->mx_hosts.erase(std::unique(lane->mx_hosts.begin(), lane->mx_hosts.end()),
                         lane->mx_hosts.end());
  }
  shaper_.Resolve(lane, loop_->now());
  SyncRollup(lane);
  if (stopping_) {
    DropLaneIfUnused(lane);
    return;
  }
  ExpireWaitingJobs(lane, loop_->now());  // its own lifetime may be shorter
  Dispatch(lane);
  DropLaneIfUnused(lane);
}

void DeliveryAgent::WakeLaneAt(Lane* lane, absl::Time when) {
  if (lane->wake->armed() && lane->wake_at <= when) return;
  lane->wake_at = when;
  loop_->timers().Arm(lane->wake.get(), std::max(when, loop_->now()));
}

void DeliveryAgent::OnLaneWake(Lane* lane) {
  lane->wake_at = absl::InfiniteFuture();
  Dispatch(lane);
  DropLaneIfUnused(lane);
}

void DeliveryAgent::ExpireWaitingJobs(Lane* lane, absl::Time now) {
  static constexpr size_t kExpiryChecksPerLane = 1000;
  for (size_t checked = 0; checked < kExpiryChecksPerLane && !lane->pending.empty(); ++checked) {
    const WaitingJob& front = lane->pending.front();
    if (IsLive(front.queue_id, front.generation)) {
      const spool::QueueEntry* entry = spool_->index().Find(front.queue_id);
      const queue::RetrySchedule& retry = lane->retry != nullptr ? *lane->retry : config_.retry;
      if (entry == nullptr ||
          !retry.Expired(absl::FromUnixMicros(entry->received_unix_us()), now)) {
        return;
      }
    }
    std::optional<DeliveryJob> job = TakePending(lane);
    if (!job.has_value()) return;
    job->retry = lane->retry;
    recorder_.Fail(*std::move(job), net::smtp::DeliveryOutcome::kTempFailed, 451, "4.4.7",
                   "delivery time expired (--max_queue_lifetime) while waiting for its site",
                   lane->nexthop.host);
  }
}

void DeliveryAgent::Dispatch(Lane* lane) {
  if (lane->resolving) return;  // OnLaneSiteKnown dispatches it
  // Throttled: no new connection either, the lane's timer comes back.
  if (!DispatchToReady(lane)) return;
  PipelineOnBusyConnections(lane);
  // Connections borrowed from sibling lanes of its site are ready at once.
  if (MaybeOpenConnections(lane)) DispatchToReady(lane);
}

void DeliveryAgent::PipelineOnBusyConnections(Lane* lane) {
  while (!lane->pending.empty() && !lane->pipelinable.empty()) {
    OutboundConnection* connection = lane->pipelinable.back();
    lane->pipelinable.pop_back();
    // Stale once its transaction ended (it is then ready, or says RSET).
    if (connection->can_send() && !connection->ready()) OnConnectionCanPipeline(connection);
  }
}

bool DeliveryAgent::DispatchToReady(Lane* lane) {
  while (!lane->pending.empty() && !lane->ready.empty()) {
    bool throttled = false;
    std::optional<DeliveryJob> job = TakeAdmittedJob(lane, &throttled);
    if (throttled) return false;
    if (!job.has_value()) break;
    StartJob(lane->TakeReady(), *std::move(job));
  }
  return true;
}

void DeliveryAgent::SyncRollup(Lane* lane) {
  if (!lane->shaped || lane->rollup_version == lane->shaping_version) return;
  rollup_.Place(lane, RollupGroup(*lane));
  lane->rollup_version = lane->shaping_version;
}

void DeliveryAgent::MoveConnection(OutboundConnection* connection, Lane* to) {
  ConnectionInfo& info = Info(connection);
  DCHECK(!info.job.has_value() && info.sent.empty() && info.attempt == nullptr && !info.gone);
  DCHECK(info.lane->rollup_group != nullptr && info.lane->rollup_group == to->rollup_group);
  info.lane->Forget(connection);
  info.lane = to;
  to->connections.insert(connection);
  DeliveryCounters::Add(counters_->connections_lent);
}

std::optional<DeliveryJob> DeliveryAgent::TakeAdmittedJob(Lane* lane, bool* throttled) {
  *throttled = false;
  if (lane->resolving) return std::nullopt;
  // The clock itself, not the loop's time of this turn: a rate's spacing is measured by
  // the receiver, and a turn may have run for milliseconds already.
  const absl::Time now = absl::Now();
  shaper_.RefreshIfStale(lane, now);
  std::optional<DeliveryJob> job = TakePending(lane);
  if (!job.has_value()) return std::nullopt;
  // A throttled job waits in the lane, at its head: no spool I/O, no attempt counted. Its
  // tokens are taken after its read, right before MAIL (SendWhenAdmitted).
  if (const absl::Duration wait = shaper_.AdmitRead(lane, now); wait > absl::ZeroDuration()) {
    if (job->throttled_since == absl::InfinitePast()) job->throttled_since = now;
    QueueOnLane(lane, *std::move(job), /*front=*/true);
    // Infinite: jobs being read hold the tokens in sight; the next take wakes the lane.
    if (wait != absl::InfiniteDuration()) WakeLaneAt(lane, now + wait);
    *throttled = true;
    return std::nullopt;
  }
  return job;
}

void DeliveryAgent::WakeIfReadBlocked(Lane* lane) {
  if (std::exchange(lane->read_blocked, false)) WakeLaneAt(lane, loop_->now());
}

void DeliveryAgent::EndThrottledWait(Lane* lane, DeliveryJob* job, absl::Time now) {
  if (job->throttled_since == absl::InfinitePast()) return;
  const absl::Duration waited = std::max(now - job->throttled_since, absl::ZeroDuration());
  job->throttled += waited;
  job->throttled_since = absl::InfinitePast();
  stats_.NoteThrottled(lane->key, lane->DestinationName(), waited);
}

void DeliveryAgent::QueueOnLane(Lane* lane, DeliveryJob job, bool front) {
  auto active = active_.find(job.queue_id);
  CHECK(active != active_.end());
  DCHECK(active->second.generation == job.generation);
  ++active->second.jobs_waiting;
  DCHECK(active->second.jobs_waiting <= active->second.jobs_left);
  const std::string* pool = job.pool.empty() ? nullptr : InternPoolName(job.pool);
  if (front) {
    lane->pending.push_front(WaitingJob::From(std::move(job), pool));
  } else {
    lane->pending.push_back(WaitingJob::From(std::move(job), pool));
  }
}

std::optional<DeliveryJob> DeliveryAgent::TakePending(Lane* lane) {
  while (!lane->pending.empty()) {
    WaitingJob job = std::move(lane->pending.front());
    lane->pending.pop_front();
    auto active = active_.find(job.queue_id);
    if (active == active_.end() || active->second.generation != job.generation) continue;
    DCHECK(active->second.jobs_waiting > 0);
    --active->second.jobs_waiting;
    return std::move(job).Take();
  }
  return std::nullopt;
}

bool DeliveryAgent::IsLive(uint64_t queue_id, uint64_t generation) const {
  auto active = active_.find(queue_id);
  return active != active_.end() && active->second.generation == generation;
}

const net::smtp::ClientConfig* DeliveryAgent::ClientConfigFor(const EgressSource* source) {
  const std::string ehlo_name = source != nullptr ? source->ehlo_name : "";
  auto [it, fresh] = client_configs_.try_emplace(ehlo_name, config_.client);
  if (fresh && !ehlo_name.empty()) it->second.helo_name = ehlo_name;
  return &it->second;
}

const std::string* DeliveryAgent::InternPoolName(absl::string_view name) {
  return &*pool_names_.emplace(name).first;
}

bool DeliveryAgent::MaybeOpenConnections(Lane* lane) {
  if (stopping_ || lane->pending.empty() || lane->resolving) return false;
  const absl::Time now = loop_->now();
  if (now < lane->no_attempt_before) return false;
  shaper_.RefreshIfStale(lane, now);  // a suspension or new limits since the last look
  SyncRollup(lane);
  bool borrowed = false;
  const size_t cap = std::max<uint32_t>(
      1,
      std::min(config_.max_connections_per_destination,
               lane->options.connection_limit.value_or(config_.max_connections_per_destination)));
  // Each connection being opened will take one pending job; busy connections take the
  // next ones as they finish.
  while (lane->pending.size() > lane->attempts && lane->connections.size() + lane->attempts < cap) {
    // A site that keeps failing is delayed, and an untested one gets a few attempts at once,
    // not one per queued message (queue/site_health.h).
    const queue::SiteHealth::Admission admission = lane->health->Admit(now, pool_wake_.shard());
    if (admission.verdict == queue::SiteHealth::Verdict::kWait) {
      if (lane->connections.empty() && lane->attempts == 0) {
        if (admission.delayed) {
          DeferForDelayedSite(lane, admission.until);
        } else {
          // The untested site's few attempts run on other shards: this shard is told when
          // one ends (SiteHealth's waiters) and retries the lane then.
          pool_wake_.NoteLaneAtLimit(lane);
        }
      }
      return borrowed;  // else this lane's own attempts and connections dispatch it
    }
    // While another shard waits for the site's connections, this one stays within its share.
    net::SlotWaitBoard& board = pools_->slot_board();
    if (!board.MayAdd(lane->site_scope, pool_wake_.shard())) {
      lane->health->NoteAttemptAbandoned();  // admitted above, not made
      board.Wait(lane->site_scope, pool_wake_.shard(), static_cast<uint32_t>(cap));
      pool_wake_.NoteLaneAtLimit(lane);
      return borrowed;
    }
    // While lanes wait for a connection limit this one shares with other sites, a lane
    // that has a connection keeps to it: the scarce slots go one per destination first,
    // each carrying its backlog, rather than to greetings and QUITs of several.
    if (lane->connections.size() + lane->attempts > 0 && SharedLimitContended(*lane)) {
      lane->health->NoteAttemptAbandoned();
      return borrowed;
    }
    // Likewise across shards: another shard's connection to the site is handed over.
    if (lane->connections.empty() && lane->attempts == 0 && AwaitHandoff(lane, now, cap)) {
      lane->health->NoteAttemptAbandoned();
      return borrowed;
    }
    // The lane's connection rate and limits, all shards together.
    queue::ConnectionLease lease;
    if (const absl::Duration wait = shaper_.AdmitConnection(lane, now, &lease);
        wait > absl::ZeroDuration()) {
      lane->health->NoteAttemptAbandoned();
      if (wait != absl::InfiniteDuration()) {
        WakeLaneAt(lane, now + wait);
        return borrowed;
      }
      // The connection limit is full: an idle connection of a sibling lane of the same
      // site serves this one (MX rollup); else the lane waits for a close or for a
      // sibling's connection to come free.
      if (Lane* sibling = rollup_.SiblingWithIdle(lane)) {
        OutboundConnection* idle = sibling->TakeReady();
        MoveConnection(idle, lane);
        lane->ready.push_back(idle);
        borrowed = true;
        continue;
      }
      rollup_.NoteWaiting(lane);
      const std::string& blocked = lane->throttle.blocked_by();
      const std::optional<uint32_t> blocked_limit = lane->throttle.blocked_connection_limit();
      if (queue::IsSharedByManySites(blocked) && blocked_limit.has_value()) {
        // A limit other sites share (an egress source's, a provider's): the least recently
        // used idle connection holding it is closed for this lane (WaitForSharedLimit; the
        // other shards close theirs when told), and this shard is woken when one of its
        // slots is released.
        WaitForSharedLimit(blocked, *blocked_limit);
      } else {
        // Other shards may hold the site's connections: they are told, give back their idle
        // ones (and beyond their share), and this shard is woken when one closes.
        pools_->slot_board().Wait(lane->site_scope, pool_wake_.shard(), static_cast<uint32_t>(cap));
      }
      pool_wake_.NoteLaneAtLimit(lane);
      return borrowed;
    }
    if (lease.held()) {
      // The slot board counts this shard's connections under the site and under every
      // shared limit the lease holds: a shard waiting for one is told when they close.
      net::SlotWaitBoard* board = &pools_->slot_board();
      const uint32_t shard = pool_wake_.shard();
      std::vector<std::string> scopes = lease.scope_keys();
      if (std::find(scopes.begin(), scopes.end(), lane->site_scope) == scopes.end()) {
        scopes.push_back(lane->site_scope);
      }
      // Adding ends this shard's wait for those scopes (SlotWaitBoard), but its lanes still
      // noted at a limit that sites share wait on: that wait is renewed, so that a slot any
      // shard releases wakes them, not only the maintenance tick (measured: the last jobs
      // of a domain on one shard waited ~1 s at the end of a run).
      std::vector<std::pair<const std::string*, uint32_t>> still_waiting;
      if (pool_wake_.lanes_at_limit() > 0) {
        for (size_t i = 0; i < lane->throttle.size(); ++i) {
          const std::optional<uint32_t> limit = lane->throttle.step_connection_limit(i);
          const std::string& key = lane->throttle.step_key(i);
          if (limit.has_value() && queue::IsSharedByManySites(key) && board->Waits(key, shard)) {
            still_waiting.push_back({&key, *limit});
          }
        }
      }
      for (const std::string& scope : scopes) board->Added(scope, shard);
      for (const auto& [key, limit] : still_waiting) board->Wait(*key, shard, limit);
      lease.OnRelease([board, shard, scopes = std::move(scopes)] {
        for (const std::string& scope : scopes) board->Removed(scope, shard);
      });
    }
    EndHandoffWait(lane);
    connector_.Begin(lane, std::move(lease));
    if (loop_->now() < lane->no_attempt_before) break;  // the attempt failed at once
  }
  return borrowed;
}

void DeliveryAgent::StartJob(OutboundConnection* connection, DeliveryJob job) {
  ConnectionInfo& info = Info(connection);
  job.labels = info.lane->labels;
  job.retry = info.lane->retry;
  EndThrottledWait(info.lane, &job, loop_->now());
  info.job = std::move(job);
  info.loading = true;
  auto active = active_.find(info.job->queue_id);
  CHECK(active != active_.end());
  reads_.Get(info.job->queue_id, info.job->generation, active->second.jobs_left,
             [this, connection](absl::StatusOr<SharedMessage> loaded) {
               OnMessageLoaded(connection, std::move(loaded));
             });
}

void DeliveryAgent::OnMessageLoaded(OutboundConnection* connection,
                                    absl::StatusOr<SharedMessage> loaded) {
  ConnectionInfo& info = Info(connection);
  DCHECK(info.loading && info.job.has_value());
  if (info.gone || stopping_) {
    AbandonJob(connection);
    return;
  }
  if (!loaded.ok()) {
    DeliveryJob job = TakeBackUnsentJob(info);
    TERN_LOG(kError, "delivery of %016X: cannot read it from the spool: %s", job.queue_id,
             loaded.status().ToString());
    recorder_.Fail(
        std::move(job), net::smtp::DeliveryOutcome::kTempFailed, 451, "4.3.0",
        absl::StrCat("cannot read the message from the spool: ", loaded.status().message()), "");
    ReleaseConnection(connection);
    return;
  }
  DeliveryJob& job = *info.job;
  auto ready = std::make_unique<LoadedJob>(*std::move(loaded));
  const spool::LoadedMessage& message = ready->prepared->message;
  const spool::MessageRecordView& view = message.view();
  job.message_id = std::string(FindMessageId(message.body()));
  ready->recipients.reserve(job.recipients.size());
  {
    spool::RecipientView r;
    uint32_t index = 0;
    size_t next = 0;  // job.recipients is in increasing order
    for (auto it = view.recipients(); it.Next(&r) && next < job.recipients.size(); ++index) {
      if (job.recipients[next] != index) continue;
      ready->recipients.push_back(
          {.address = r.address, .index = index, .notify = r.notify, .orcpt = r.orcpt});
      ++next;
    }
  }
  if (!ready->prepared->signature.empty()) DeliveryCounters::Add(counters_->dkim_signed);
  ready->outbound = net::smtp::OutboundMessage{
      .sender = view.sender(),
      .recipients = ready->recipients,
      .body = message.body(),
      .needs_smtputf8 = view.smtputf8(),
      .eight_bit = view.body_type() != spool::BodyType::kSevenBit,
      .dsn_ret = view.dsn_ret(),
      .envid = view.envid(),
      .prefix = ready->prepared->signature,  // copied by the session
  };
  info.loaded = std::move(ready);
  SendWhenAdmitted(connection);
}

void DeliveryAgent::SendWhenAdmitted(OutboundConnection* connection) {
  ConnectionInfo& info = Info(connection);
  CHECK(info.loading && info.loaded != nullptr && info.job.has_value());
  if (info.gone || stopping_) {
    AbandonJob(connection);
    return;
  }
  // The transaction before it ended and the connection says RSET: OnConnectionReady().
  if (!connection->can_send()) return;
  Lane* lane = info.lane;
  // The clock itself: the receiver measures the spacing of what follows the take.
  const absl::Time now = absl::Now();
  shaper_.RefreshIfStale(lane, now);
  if (const absl::Duration wait = shaper_.TakeMessageToken(lane, now);
      wait > absl::ZeroDuration()) {
    if (info.job->throttled_since == absl::InfinitePast()) info.job->throttled_since = now;
    if (wait <= kTokenWaitOnConnectionMax) {
      if (info.token_wait == nullptr) {
        info.token_wait = std::make_unique<TokenWaitTimer>(this, connection);
      }
      loop_->timers().Arm(info.token_wait.get(), std::max(now + wait, loop_->now()));
      return;
    }
    // Suspended (or slowed) since it was read: it waits in its lane, not on a connection.
    QueueOnLane(lane, TakeBackUnsentJob(info), /*front=*/true);
    ReleaseConnection(connection);  // its lane's timer is armed by the refused admission
    return;
  }
  WakeIfReadBlocked(lane);
  EndThrottledWait(lane, &*info.job, now);
  std::unique_ptr<LoadedJob> ready = std::move(info.loaded);
  info.loading = false;
  const SharedMessage& prepared = ready->prepared;
  // On `sent` first: a transaction refused locally (SIZE, SMTPUTF8) is reported inside
  // Send() (after the one in flight, if any: results come in order).
  info.sent.push_back(*std::move(info.job));
  info.job.reset();
  absl::Status sent = connection->Send(
      std::shared_ptr<const spool::LoadedMessage>(prepared, &prepared->message), ready->outbound);
  if (!sent.ok()) {
    DeliveryJob refused = std::move(info.sent.back());
    info.sent.pop_back();
    recorder_.Fail(std::move(refused), net::smtp::DeliveryOutcome::kPermFailed, 550, "5.1.3",
                   absl::StrCat("message cannot be sent: ", sent.message()), "");
    ReleaseConnection(connection);
    return;
  }
  ReadAhead(lane);
}

uint32_t DeliveryAgent::TransactionsPerConnectionMax(const Lane& lane) const {
  return std::min(
      config_.max_messages_per_connection,
      lane.options.max_deliveries_per_connection.value_or(config_.max_messages_per_connection));
}

void DeliveryAgent::OnConnectionCanPipeline(OutboundConnection* connection) {
  ConnectionInfo& info = Info(connection);
  if (stopping_ || info.gone || info.attempt != nullptr || info.job.has_value()) return;
  DCHECK(!info.sent.empty());
  Lane* lane = info.lane;
  if (connection->transactions() >= TransactionsPerConnectionMax(*lane)) return;
  if (lane->pending.empty()) {
    // The lane's next job may still come before this transaction ends.
    if (std::find(lane->pipelinable.begin(), lane->pipelinable.end(), connection) ==
        lane->pipelinable.end()) {
      lane->pipelinable.push_back(connection);
    }
    return;
  }
  // A receiver sees a rate's spacing at its MAILs, and reads a pipelined MAIL only once it
  // is done with the transaction before: paced lanes send one transaction at a time.
  shaper_.RefreshIfStale(lane, absl::Now());
  if (lane->shaped && lane->throttle.HasMessageRate()) return;
  // What ReleaseConnection() would do with the connection comes first: a sibling lane of
  // its site waiting for one, or another shard waiting for this destination.
  SyncRollup(lane);
  if (rollup_.HasWaitingSibling(lane)) return;
  if (ShouldYield(*lane, connection, /*has_job=*/true)) {
    // Its pipeline drains and it goes back (ReleaseConnection): the lane's other
    // connections count it as leaving and go on pipelining.
    info.yielding = true;
    return;
  }
  bool throttled = false;
  if (std::optional<DeliveryJob> job = TakeAdmittedJob(lane, &throttled)) {
    StartJob(connection, *std::move(job));
  }
}

void DeliveryAgent::ReadAhead(Lane* lane) {
  if (stopping_) return;
  // The lane's next job not read yet: one of its connections takes it when its transaction
  // ends, and finds it read. Each connection reads ahead at most one job per transaction,
  // so the jobs read ahead of a lane stay within about its connections.
  const size_t look_max = std::min<size_t>(lane->connections.size() + 1, kReadAheadLookMax);
  size_t looked = 0;
  for (const WaitingJob& waiting : lane->pending) {
    if (++looked > look_max) return;
    if (reads_.Has(waiting.queue_id) || !IsLive(waiting.queue_id, waiting.generation)) continue;
    if (reads_.ReadAhead(waiting.queue_id, waiting.generation)) {
      DeliveryCounters::Add(counters_->message_reads_ahead);
    }
    return;
  }
}

DeliveryJob DeliveryAgent::TakeBackUnsentJob(ConnectionInfo& info) {
  CHECK(info.loading && info.job.has_value());
  DeliveryJob job = *std::move(info.job);
  info.job.reset();
  info.loaded.reset();
  info.loading = false;
  if (info.token_wait != nullptr) loop_->timers().Cancel(info.token_wait.get());
  shaper_.CancelRead(info.lane);
  WakeIfReadBlocked(info.lane);
  return job;
}

void DeliveryAgent::AbandonJob(OutboundConnection* connection) {
  ConnectionInfo& info = Info(connection);
  Lane* lane = info.lane;
  DeliveryJob job = TakeBackUnsentJob(info);
  if (info.gone) {
    // The connection closed under the job: it goes back to its lane.
    DCHECK(lane->closed_while_loading > 0);
    --lane->closed_while_loading;
    Destroy(connection);
    if (stopping_) {
      JobFinished(job.queue_id);
      return;
    }
    QueueOnLane(lane, std::move(job), /*front=*/true);
    Dispatch(lane);
    // Its slot under the site's connection limit is free: a sibling lane waiting for one.
    if (Lane* sibling = rollup_.WaitingSibling(lane)) Dispatch(sibling);
    return;
  }
  DCHECK(stopping_);
  JobFinished(job.queue_id);
  ReleaseConnection(connection);
}

void DeliveryAgent::ReleaseConnection(OutboundConnection* connection) {
  ConnectionInfo& info = Info(connection);
  if (info.job.has_value() || !info.sent.empty() || info.gone || !connection->ready()) return;
  Lane* lane = info.lane;
  if (stopping_) {
    connection->Quit();
    return;
  }
  if (connection->transactions() >= TransactionsPerConnectionMax(*lane)) {
    connection->Quit();  // its replacement is opened when it is gone
    return;
  }
  // MX rollup: a sibling lane of the same site waiting for a connection gets this one
  // (this lane, if it still has jobs, waits its turn behind it).
  SyncRollup(lane);
  if (Lane* sibling = rollup_.WaitingSibling(lane)) {
    if (!lane->pending.empty()) rollup_.NoteWaiting(lane);
    MoveConnection(connection, sibling);
    lane = sibling;
  }
  // Another shard waits for this destination: over its share, this shard gives the
  // connection back; idle, it does not keep it.
  const bool has_job = !lane->pending.empty();
  if (ShouldYield(*lane, connection, has_job)) {
    if (!has_job) StopWaitingForSlots(*lane, connection);  // the other shard's to use
    Yield(connection);
    return;
  }
  info.yielding = false;  // chosen to leave while it drained: no longer needed
  bool throttled = false;
  if (std::optional<DeliveryJob> job = TakeAdmittedJob(lane, &throttled)) {
    StartJob(connection, *std::move(job));
    return;
  }
  if (!throttled && ShouldYield(*lane, connection, /*has_job=*/false)) {
    StopWaitingForSlots(*lane, connection);
    Yield(connection);
    return;
  }
  if (!throttled) StopWaitingForSlots(*lane, connection);  // it has more than it needs
  if (!throttled && HoldsAwaitedSharedLimit(connection)) {
    FreeForSharedLimit(connection);  // idle here, wanted by another site
    return;
  }
  lane->ready.push_back(connection);
  rollup_.NoteIdle(lane);
}

bool DeliveryAgent::SharedLimitContended(const Lane& lane) const {
  if (!lane.shaped) return false;
  const net::SlotWaitBoard& board = pools_->slot_board();
  for (size_t i = 0; i < lane.throttle.size(); ++i) {
    const std::string& scope = lane.throttle.step_key(i);
    if (!queue::IsSharedByManySites(scope) || !lane.throttle.step_connection_limit(i)) continue;
    if (board.AnyWaits(scope)) return true;
  }
  return false;
}

void DeliveryAgent::WaitForSharedLimit(const std::string& scope, uint32_t limit) {
  pools_->slot_board().Wait(scope, pool_wake_.shard(), limit);
  // One slot for this lane: this shard's least recently used idle connection holding the
  // limit goes (the board tells the other shards, whose YieldIdleConnections() does the
  // same). The one idle the longest is the least likely to get its destination's next
  // message; one that just went idle may get it in a moment.
  FreeLeastRecentlyUsedIdle(&scope);
}

bool DeliveryAgent::AwaitHandoff(Lane* lane, absl::Time now, uint32_t cap) {
  net::SlotWaitBoard& board = pools_->slot_board();
  const uint32_t shard = pool_wake_.shard();
  if (lane->handoff_until == absl::InfinitePast()) {
    if (!SharedLimitContended(*lane) || !board.HeldByOthers(lane->site_scope, shard)) {
      return false;
    }
    lane->handoff_until = now + kHandoffWaitMax;
    awaiting_handoff_.insert(lane);
  } else if (now >= lane->handoff_until) {
    return false;  // waited long enough: it opens a connection of its own
  }
  // The holding shard is told (YieldIdleConnections) and parks its connection once its lane
  // runs out of work (ShouldYield); the slot it releases wakes this shard. Asked after the
  // wait is posted: a release from then on tells this shard, one before is seen here.
  board.Wait(lane->site_scope, shard, cap);
  if (!board.HeldByOthers(lane->site_scope, shard)) {
    // Handed over (parked for this shard, or closed): it opens (continuing the parked
    // connection) as soon as the shared limit gives it a slot, retried first meanwhile.
    return false;
  }
  WakeLaneAt(lane, lane->handoff_until);
  return true;
}

void DeliveryAgent::EndHandoffWait(Lane* lane) {
  lane->handoff_until = absl::InfinitePast();
  awaiting_handoff_.erase(lane);
}

void DeliveryAgent::RetryLanesAwaitingHandoff() {
  if (stopping_ || awaiting_handoff_.empty()) return;
  const absl::Time now = loop_->now();
  std::vector<Lane*> lanes(awaiting_handoff_.begin(), awaiting_handoff_.end());
  for (Lane* lane : lanes) {
    if (!awaiting_handoff_.contains(lane)) continue;  // dropped by an earlier one's retry
    if (now >= lane->handoff_until) {
      // Its wait is over: it takes its turn among the lanes at the limit from now on.
      awaiting_handoff_.erase(lane);
    } else if (pools_->slot_board().HeldByOthers(lane->site_scope, pool_wake_.shard())) {
      continue;  // still the other shard's
    }
    lane->no_attempt_before = absl::InfinitePast();
    Dispatch(lane);
    DropLaneIfUnused(lane);
  }
}

bool DeliveryAgent::HoldsAwaitedSharedLimit(OutboundConnection* connection) {
  const queue::ConnectionLease& lease = Info(connection).lease;
  if (!lease.held()) return false;
  const net::SlotWaitBoard& board = pools_->slot_board();
  for (size_t i = 0; i < lease.scope_count(); ++i) {
    const std::string& scope = lease.scope_key(i);
    if (queue::IsSharedByManySites(scope) && board.AnyWaits(scope)) return true;
  }
  return false;
}

void DeliveryAgent::FreeLeastRecentlyUsedIdle(const std::string* scope) {
  // Many lanes may meet the limit in one loop turn: once a look found nothing, the others
  // of that turn do not look again.
  if (loop_->now() == last_shared_limit_scan_) return;
  auto holds = [&](OutboundConnection* c) {
    if (scope == nullptr) return HoldsAwaitedSharedLimit(c);
    const queue::ConnectionLease& lease = Info(c).lease;
    if (!lease.held()) return false;
    for (size_t i = 0; i < lease.scope_count(); ++i) {
      if (lease.scope_key(i) == *scope) return true;
    }
    return false;
  };
  OutboundConnection* oldest = nullptr;
  Lane* oldest_lane = nullptr;
  for (auto& [key, lane] : lanes_) {
    if (!lane->pending.empty()) continue;  // its idle connections carry them once admitted
    for (OutboundConnection* c : lane->ready) {
      if (oldest != nullptr && c->idle_since() >= oldest->idle_since()) continue;
      if (!holds(c)) continue;
      oldest = c;
      oldest_lane = lane.get();
    }
  }
  if (oldest == nullptr) {
    last_shared_limit_scan_ = loop_->now();
    return;
  }
  oldest_lane->ready.erase(std::find(oldest_lane->ready.begin(), oldest_lane->ready.end(), oldest));
  FreeForSharedLimit(oldest);
}

void DeliveryAgent::FreeForSharedLimit(OutboundConnection* connection) {
  ConnectionInfo& info = Info(connection);
  DCHECK(!info.job.has_value() && !info.loading);
  DeliveryCounters::Add(counters_->connections_freed);
  // Its slots go now (the waiters are woken by the lease's release); QUIT and the close
  // follow, holding nothing anyone waits for.
  info.lease.Reset();
  connection->Quit();
}

bool DeliveryAgent::ShouldYield(const Lane& lane, OutboundConnection* connection,
                                bool has_job) const {
  const uint32_t shard = pool_wake_.shard();
  // The site's shaping limit, all shards together. Over its share, this shard's connections
  // already leaving are counted out (looked up only then: nobody waits, most of the time).
  net::SlotWaitBoard& board = pools_->slot_board();
  if (has_job
          ? board.ShouldYield(lane.site_scope, shard) &&
                board.ShouldYield(lane.site_scope, shard, YieldedBesides(lane, connection, nullptr))
          : board.OthersWait(lane.site_scope, shard)) {
    return true;
  }
  // The address's own limit (--max_connections_per_destination).
  const std::shared_ptr<net::Destination>& destination = connection->destination();
  if (destination == nullptr) return false;
  if (!has_job) return destination->OthersWait(shard);
  return destination->ShouldYield(shard) &&
         destination->ShouldYield(shard, YieldedBesides(lane, connection, destination.get()));
}

uint32_t DeliveryAgent::YieldedBesides(const Lane& lane, OutboundConnection* connection,
                                       const net::Destination* to) const {
  uint32_t yielded = 0;
  for (OutboundConnection* c : lane.connections) {
    if (c == connection || (to != nullptr && c->destination().get() != to)) continue;
    auto it = connections_.find(c);
    if (it != connections_.end() && it->second->yielding) ++yielded;
  }
  return yielded;
}

void DeliveryAgent::StopWaitingForSlots(const Lane& lane, OutboundConnection* connection) {
  const uint32_t shard = pool_wake_.shard();
  pools_->slot_board().StopWaiting(lane.site_scope, shard);
  if (connection->destination() != nullptr) connection->destination()->StopWaiting(shard);
}

void DeliveryAgent::Yield(OutboundConnection* connection) {
  Info(connection).yielding = true;
  DeliveryCounters::Add(counters_->connections_yielded);
  connection->Park();  // OnConnectionGone() follows, which dispatches the lane
}

void DeliveryAgent::RetryLaneAtLimit(Lane* lane) {
  if (stopping_) return;
  lane->no_attempt_before = absl::InfinitePast();
  Dispatch(lane);
  DropLaneIfUnused(lane);
}

void DeliveryAgent::YieldIdleConnections() {
  if (stopping_) return;
  std::vector<OutboundConnection*> yielded;
  for (auto& [key, lane] : lanes_) {
    if (lane->ready.empty() || !lane->pending.empty()) continue;
    for (OutboundConnection* c : lane->ready) {
      if (ShouldYield(*lane, c, /*has_job=*/false)) yielded.push_back(c);
    }
  }
  for (OutboundConnection* c : yielded) {
    Lane* lane = Info(c).lane;
    lane->ready.erase(std::find(lane->ready.begin(), lane->ready.end(), c));
    StopWaitingForSlots(*lane, c);  // no jobs: the waiting shard's share is the whole limit
    Yield(c);
  }
  // Another shard waits for a limit shared by sites (an egress source's): the least
  // recently used idle connection holding it is closed, whatever its own destination.
  FreeLeastRecentlyUsedIdle(nullptr);
}

DeliveryAgent::ConnectionInfo& DeliveryAgent::Info(OutboundConnection* connection) {
  auto it = connections_.find(connection);
  CHECK(it != connections_.end());
  return *it->second;
}

void DeliveryAgent::Destroy(OutboundConnection* connection) {
  auto it = connections_.find(connection);
  CHECK(it != connections_.end());
  Lane* lane = it->second->lane;
  if (lane != nullptr) lane->Forget(connection);
  connections_.erase(it);  // destroys the connection (it releases its pool slot)
  UpdateGauges();
}

void DeliveryAgent::OnConnectionReady(OutboundConnection* connection) {
  ConnectionInfo& info = Info(connection);
  if (info.attempt != nullptr) {
    // A new connection made it through the greeting and EHLO: it joins its lane.
    Lane* lane = info.lane;
    --lane->attempts;
    info.lease = std::move(info.attempt->lease);
    info.attempt.reset();
    lane->health->NoteAttemptEnded(loop_->now(), /*ok=*/true, lane->options, "");
    lane->connections.insert(connection);
    if (!info.reused) DeliveryCounters::Add(counters_->connections_opened);
    UpdateGauges();
  }
  if (info.job.has_value()) {
    // A job taken to be pipelined, and the transaction before it is over: read and waiting
    // for the connection, it goes now; still being read, it goes when read.
    if (info.loaded != nullptr) SendWhenAdmitted(connection);
    return;
  }
  ReleaseConnection(connection);
}

void DeliveryAgent::OnTransactionDone(OutboundConnection* connection,
                                      const net::smtp::TransactionResult& result) {
  ConnectionInfo& info = Info(connection);
  CHECK(!info.sent.empty());
  DeliveryJob job = std::move(info.sent.front());
  info.sent.pop_front();
  DeliveryCounters::Add(counters_->transactions);
  if (result.retry_at_once && !job.pipeline_retry_done && !stopping_) {
    // Refused for being pipelined, not tried: sent again, first of its lane (this
    // connection takes it after its RSET, without pipelining).
    job.pipeline_retry_done = true;
    QueueOnLane(info.lane, std::move(job), /*front=*/true);
    return;
  }
  bool untouched = result.connection_failed;
  for (const net::smtp::RecipientResult& r : result.recipients) {
    untouched &= r.stage == net::smtp::ReplyStage::kConnection;
  }
  if (untouched && connection->transactions() > 1 && !job.stale_retry_done && !stopping_) {
    // A connection that carried mail before died under this one without a reply: the
    // server most likely dropped it while idle. Send it once more on another connection.
    job.stale_retry_done = true;
    QueueOnLane(info.lane, std::move(job), /*front=*/true);
    return;  // the lane is dispatched when the connection is gone
  }
  std::vector<RecipientOutcome> outcomes;
  outcomes.reserve(result.recipients.size());
  // Failure replies meet the lane's automation rules, each distinct reply once per
  // transaction (a MAIL-stage refusal is every recipient's reply).
  std::vector<std::pair<absl::string_view, bool>> reacted;  // reply, bounce
  const absl::Time now = loop_->now();
  for (const net::smtp::RecipientResult& r : result.recipients) {
    net::smtp::DeliveryOutcome outcome = r.outcome;
    if (outcome != net::smtp::DeliveryOutcome::kDelivered) {
      auto seen = std::find_if(reacted.begin(), reacted.end(),
                               [&](const auto& e) { return e.first == r.reply; });
      if (seen == reacted.end()) {
        // Our own words (451 4.4.x: the connection failed under the transaction), unless
        // the server closed it with a reply of its own (421), which is quoted.
        const bool internal = r.stage == net::smtp::ReplyStage::kConnection && r.code != 421;
        reacted.push_back({r.reply, reactor_.OnReply(*info.lane, r.reply, internal, now)});
        seen = reacted.end() - 1;
      }
      if (seen->second) outcome = net::smtp::DeliveryOutcome::kPermFailed;  // a rule bounces it
    }
    stats_.NoteResult(info.lane->key, info.lane->DestinationName(), outcome, r.reply, now);
    outcomes.push_back({.recipient = r.index,
                        .outcome = outcome,
                        .code = r.code,
                        .enhanced = r.enhanced.ToString(),
                        .reply = std::string(r.reply)});
  }
  recorder_.Complete(std::move(job), std::move(outcomes),
                     absl::StrCat(connection->host_name, "[", connection->address, "]"),
                     std::nullopt, connection->server_offers_dsn());
}

void DeliveryAgent::OnConnectionGone(OutboundConnection* connection) {
  ConnectionInfo& info = Info(connection);
  Lane* lane = info.lane;
  if (info.attempt != nullptr) {
    // Never got ready: the attempt goes on with the next address or host.
    DeliveryCounters::Add(counters_->connect_failures);
    std::unique_ptr<ConnectAttempt> attempt = std::move(info.attempt);
    const absl::Status& failure = connection->failure();
    attempt->last_error = absl::Status(
        failure.code(), absl::StrCat(connection->host_name, "[", connection->address,
                                     "]: ", failure.ok() ? "closed" : failure.message()));
    TERN_LOG(kInfo, "delivery: %s", attempt->last_error.message());
    if (std::string code = connection->security_failure_code(); !code.empty()) {
      attempt->enhanced = code;  // a TLS policy or handshake failure says so in the deferral
    }
    Destroy(connection);
    connector_.Continue(std::move(attempt));
    return;
  }
  if (info.loading) {
    info.gone = true;  // destroyed when the read completes
    ++lane->closed_while_loading;
    lane->Forget(connection);
    if (info.loaded != nullptr) AbandonJob(connection);  // read: it waited for its tokens
    return;
  }
  Destroy(connection);
  Dispatch(lane);
  // Its slot under the site's connection limit is free: a sibling lane waiting for one.
  if (Lane* sibling = rollup_.WaitingSibling(lane)) Dispatch(sibling);
  DropLaneIfUnused(lane);
}

void DeliveryAgent::DropLaneIfUnused(Lane* lane) {
  if (!lane->Unused()) return;
  DCHECK(lane->messages_reading == 0);
  awaiting_handoff_.erase(lane);
  rollup_.Leave(lane);
  pool_wake_.Forget(lane);
  loop_->timers().Cancel(lane->wake.get());
  lanes_.erase(lane->key);
}

void DeliveryAgent::OnMaintenance() {
  const absl::Time now = loop_->now();
  std::vector<Lane*> lanes;
  lanes.reserve(lanes_.size());
  for (auto& [key, lane] : lanes_) lanes.push_back(lane.get());
  for (Lane* lane : lanes) {
    // Connections idle for a whole interval leave for the shared pool, where any shard
    // may take them until --connection_idle_timeout.
    std::vector<OutboundConnection*> cooled;
    for (OutboundConnection* c : lane->ready) {
      if (now - c->idle_since() >= config_.maintenance_interval) cooled.push_back(c);
    }
    for (OutboundConnection* c : cooled) {
      lane->ready.erase(std::find(lane->ready.begin(), lane->ready.end(), c));
      c->Park();
    }
    lane->no_attempt_before = absl::InfinitePast();
    ExpireWaitingJobs(lane, now);
    Dispatch(lane);
  }
  for (Lane* lane : lanes) DropLaneIfUnused(lane);
  ReleaseDueHolds(absl::Now());
  // Parked connections past their idle timeout, whichever shard parked them.
  for (const std::shared_ptr<net::Destination>& destination : pools_->Snapshot()) {
    destination->ExpireIdle(absl::Now());  // closed and counted out there
  }
  if (!stopping_) {
    loop_->timers().Arm(&maintenance_timer_, now + config_.maintenance_interval);
  }
  UpdateGauges();
}

void DeliveryAgent::BeginShutdown() {
  if (stopping_) return;
  stopping_ = true;
  connector_.Stop();
  scheduled_.Stop();
  loop_->timers().Cancel(&maintenance_timer_);
  std::vector<OutboundConnection*> idle;
  for (auto& [key, lane] : lanes_) {
    // Pending jobs stay queued in the spool; they are scheduled again after a restart.
    for (const WaitingJob& job : lane->pending) {
      if (IsLive(job.queue_id, job.generation)) active_.erase(job.queue_id);
    }
    lane->pending.clear();
    loop_->timers().Cancel(lane->wake.get());
    idle.insert(idle.end(), lane->ready.begin(), lane->ready.end());
    lane->ready.clear();
  }
  for (OutboundConnection* c : idle) c->Quit();
  // Jobs read and waiting for their tokens stay queued in the spool too.
  std::vector<OutboundConnection*> waiting;
  for (auto& [connection, info] : connections_) {
    if (info->loaded != nullptr) waiting.push_back(connection);
  }
  for (OutboundConnection* c : waiting) AbandonJob(c);
  TERN_LOG(kInfo, "delivery: stopping, %d connections to close", connections_.size());
}

void DeliveryAgent::AbortConnections() {
  std::vector<OutboundConnection*> all;
  for (auto& [connection, info] : connections_) all.push_back(connection);
  for (OutboundConnection* c : all) c->Abort();
}

bool DeliveryAgent::idle() const {
  return connections_.empty() && connector_.in_dns() == 0 && recorder_.in_flight() == 0 &&
         lanes_resolving_ == 0;
}

void DeliveryAgent::UpdateGauges() {
  DeliveryCounters::Set(counters_->active_connections, connections_.size());
  DeliveryCounters::Set(counters_->active_messages, active_.size());
  DeliveryCounters::Set(counters_->waiting_retry, scheduled_.size());
}

void DeliveryAgent::AdoptConnection(std::unique_ptr<OutboundConnection> connection,
                                    std::unique_ptr<ConnectAttempt> attempt, bool reused) {
  auto info = std::make_unique<ConnectionInfo>();
  OutboundConnection* raw = connection.get();
  info->connection = std::move(connection);
  info->lane = attempt->lane;
  info->attempt = std::move(attempt);
  info->reused = reused;
  connections_.emplace(raw, std::move(info));
  UpdateGauges();
}

std::unique_ptr<ConnectAttempt> DeliveryAgent::ReclaimAttempt(OutboundConnection* connection) {
  std::unique_ptr<ConnectAttempt> attempt = std::move(Info(connection).attempt);
  CHECK(attempt != nullptr);
  Destroy(connection);
  return attempt;
}

void DeliveryAgent::OnAttemptFinished(std::unique_ptr<ConnectAttempt> attempt) {
  Lane* lane = attempt->lane;
  DCHECK(lane->attempts > 0);
  --lane->attempts;
  const bool at_limit_only = attempt->last_error.ok() && !attempt->hosts.empty();
  if (stopping_ || at_limit_only || attempt->permanent) {
    // Nothing learnt about the site's health (the domain itself cannot receive mail, or
    // every address was at its connection limit).
    lane->health->NoteAttemptAbandoned();
  }
  if (stopping_) {
    DropLaneIfUnused(lane);
    return;
  }
  const absl::Time now = loop_->now();
  // Give the destination a moment before the next attempt (the maintenance timer clears it).
  lane->no_attempt_before = now + config_.maintenance_interval;
  if (at_limit_only) {
    // Nothing failed: every address was at its connection limit. Jobs wait for a slot: the
    // lane is retried as soon as any shard frees one (or at the maintenance tick).
    if (!lane->pending.empty()) pool_wake_.NoteLaneAtLimit(lane);
    DropLaneIfUnused(lane);
    return;
  }
  absl::Status why =
      attempt->last_error.ok()
          ? absl::UnavailableError(absl::StrCat(lane->nexthop.host, ": no mail exchanger"))
          : attempt->last_error;
  // Our own failure (refused, timeout, greeting or TLS before the session was ready) meets
  // the rules that match internal failures.
  const bool rule_bounces = reactor_.OnReply(*lane, why.message(), /*internal=*/true, now);
  if (!attempt->permanent &&
      lane->health->NoteAttemptEnded(now, /*ok=*/false, lane->options, why.message())) {
    DeliveryCounters::Add(counters_->site_delays);
    const queue::SiteHealth::Snapshot health = lane->health->Read();
    TERN_LOG(kWarning,
             "delivery: %s delayed for %s after %d connection failures in a row (last: %s)",
             lane->DestinationName(), absl::FormatDuration(health.next_delay),
             health.consecutive_failures, health.last_failure);
  }
  if (lane->connections.empty() && lane->attempts == 0) {
    TERN_LOG(kInfo, "delivery to %s failed: %s", lane->key, why.message());
    const queue::SiteHealth::Snapshot health = lane->health->Read();
    FailLane(lane, rule_bounces ? 554 : attempt->code, rule_bounces ? "5.4.0" : attempt->enhanced,
             why, attempt->permanent || rule_bounces,
             health.delayed_until > now ? health.delayed_until : absl::InfinitePast());
  }
  DropLaneIfUnused(lane);
}

void DeliveryAgent::DeferForDelayedSite(Lane* lane, absl::Time until) {
  const queue::SiteHealth::Snapshot health = lane->health->Read();
  const size_t before = lane->pending.size();
  FailLane(lane, 451, "4.4.1",
           absl::UnavailableError(
               absl::StrCat(lane->DestinationName(), " delayed until ", absl::FormatTime(until),
                            " after ", health.consecutive_failures,
                            " connection failures in a row (last: ", health.last_failure, ")")),
           /*permanent=*/false, until);
  DeliveryCounters::Add(counters_->jobs_deferred_site_delayed, before - lane->pending.size());
}

void DeliveryAgent::FailLane(Lane* lane, int code, absl::string_view enhanced,
                             const absl::Status& why, bool permanent, absl::Time retry_not_before) {
  std::vector<DeliveryJob> jobs;
  while (std::optional<DeliveryJob> job = TakePending(lane)) jobs.push_back(*std::move(job));
  const std::string reason(why.message());
  const net::smtp::DeliveryOutcome outcome =
      permanent ? net::smtp::DeliveryOutcome::kPermFailed : net::smtp::DeliveryOutcome::kTempFailed;
  const std::string name = lane->DestinationName();
  for (const DeliveryJob& job : jobs) {
    for (size_t i = 0; i < job.recipients.size(); ++i) {
      stats_.NoteResult(lane->key, name, outcome, reason, loop_->now());
    }
  }
  for (DeliveryJob& job : jobs) {
    job.retry_not_before = retry_not_before;
    job.labels = lane->labels;
    job.retry = lane->retry;
    recorder_.Fail(std::move(job), outcome, code, enhanced, reason, lane->nexthop.host);
  }
}

void DeliveryAgent::OnDsnSpooled(uint64_t dsn_queue_id) { ScheduleMessage(dsn_queue_id); }

void DeliveryAgent::JobFinished(uint64_t queue_id) {
  auto active = active_.find(queue_id);
  if (active == active_.end()) return;
  DCHECK(active->second.jobs_left > 0);
  if (--active->second.jobs_left > 0) return;
  active_.erase(active);
  reads_.Forget(queue_id);
  UpdateGauges();
  if (stopping_) return;
  const spool::QueueEntry* entry = spool_->index().Find(queue_id);
  if (entry == nullptr || entry->held() || entry->finished()) return;
  // Something is left (deferred, or a result that could not be recorded): try again at
  // its time, never sooner than a second from now.
  const int64_t soonest = absl::ToUnixMicros(loop_->now() + absl::Seconds(1));
  scheduled_.Add(queue_id, std::max(entry->next_attempt_unix_us(), soonest));
  UpdateGauges();
}

}  // namespace tern::delivery
