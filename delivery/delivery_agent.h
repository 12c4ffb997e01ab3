// DeliveryAgent: one shard's delivery, the coordinator of its roles. It takes every message
// of the shard's spool that has recipients left (new ones as they become durable, the
// recovered queue at start-up, deferred ones when the scheduled queue hands them back),
// splits each into jobs by next hop (route, smarthost or the domain's MX), queues the jobs
// on their lane, and sends them over outbound SMTP connections, many messages per
// connection. The roles, each a class of its own:
//
//   queue::ScheduledQueue   messages waiting for their next attempt (the retry timer)
//   Lane                    per next hop: pending jobs, ready connections, attempts
//   Connector               opens connections for a lane (MX walk, parked connections)
//   OutboundConnection      drives one SMTP client session
//   ResultRecorder          outcomes → DSNs, state records, delivery log
//   DestinationStatsBook    per-destination results for ternctl stats and the status page
//
// Limits: --max_connections_per_destination holds per destination address for the whole
// process through net::DestinationPools (and per next hop within the shard);
// --max_messages_per_connection; idle connections are parked after one maintenance
// interval and closed after --connection_idle_timeout. A connection is opened only when
// the lane's pending jobs are more than its connections being opened can take.
//
// Delivery is at least once: a result is recorded only after the remote reply, so a crash
// in between sends the message again. A job's recipients are recorded in one group commit;
// bounces are durable before the BOUNCED records that cause them.
//
// Single-threaded: everything runs on the shard's loop.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/container/node_hash_set.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "core/loop.h"
#include "core/timer_wheel.h"
#include "delivery/connector.h"
#include "delivery/delivery_config.h"
#include "delivery/delivery_counters.h"
#include "delivery/delivery_job.h"
#include "delivery/delivery_log.h"
#include "delivery/destination_stats.h"
#include "delivery/egress_config.h"
#include "delivery/lane.h"
#include "delivery/lane_shaper.h"
#include "delivery/message_reads.h"
#include "delivery/outbound_connection.h"
#include "delivery/pool_wake_listener.h"
#include "delivery/reply_reactor.h"
#include "delivery/result_recorder.h"
#include "delivery/site_rollup.h"
#include "delivery/source_selector.h"
#include "events/event_publisher.h"
#include "net/destination_pool.h"
#include "net/dns/resolver.h"
#include "net/smtp/client_counters.h"
#include "net/transport.h"
#include "queue/scheduled_queue.h"
#include "queue/shaping_state.h"
#include "spool/shard_spool.h"

namespace tern::delivery {

struct DeliveryAgentDeps {
  core::Loop* loop = nullptr;
  spool::ShardSpool* spool = nullptr;
  net::Transport* transport = nullptr;
  net::dns::Resolver* resolver = nullptr;  // may be null when every route is an IP literal
  net::DestinationPools* pools = nullptr;
  uint32_t shard = 0;          // this shard's number in the pools' connection shares
  DeliveryLog* log = nullptr;  // may be null
  const DeliveryConfig* config = nullptr;
  // Traffic shaping shared by all shards (null: this agent keeps its own, no policy).
  queue::ShapingState* shaping = nullptr;
  events::EventPublisher* events = nullptr;  // the webhook's events (null: none)
};

class DeliveryAgent : public OutboundConnectionOwner,
                      public ConnectorOwner,
                      public ResultListener,
                      public PoolWakeOwner {
 public:
  DeliveryAgent(const DeliveryAgentDeps& deps, DeliveryCounters* counters,
                net::smtp::ClientCounters* client_counters);
  ~DeliveryAgent() override;
  DeliveryAgent(const DeliveryAgent&) = delete;
  DeliveryAgent& operator=(const DeliveryAgent&) = delete;

  // Schedules the whole recovered queue (due messages now, the others at their time).
  void Start();
  // A message just became durable (or was released): deliver what it has left.
  void Enqueue(uint64_t queue_id);

  // Graceful stop: nothing new starts, pending jobs are dropped (their recipients stay
  // queued in the spool), idle connections QUIT, transactions in flight finish and their
  // results are recorded. idle() tells when it is done.
  void BeginShutdown();
  // After the grace period: closes every connection at once (their messages are retried
  // after restart).
  void AbortConnections();
  bool idle() const;

  // Operator actions (delivery_agent_operator.cc), run for ternctl. A message is "in
  // delivery" while one of its jobs is on a connection (being read, sent) or having its
  // results recorded; jobs only waiting in their lane (for a connection, a throttle or a
  // delayed site) do not count: Withdraw() takes them back.
  bool InDelivery(uint64_t queue_id) const;
  // Scheduled (waiting in lanes or for its time) but not in delivery: now neither. False
  // when a job of it is in delivery (nothing changes then).
  bool Withdraw(uint64_t queue_id);
  // flush: a waiting message (deferred or new) is scheduled now. False when it is held,
  // in delivery already, finished or unknown.
  bool DeliverNow(uint64_t queue_id);
  // Returns the message to its sender: every recipient left bounces (5.0.0) with a DSN as
  // for any failure, then BOUNCED records. FailedPrecondition while in delivery (try again).
  // `reason` (the operator's words; empty: "message returned by the operator") is the DSN's
  // diagnostic and the delivery log's reply; the caller keeps it to one printable line.
  absl::Status Bounce(uint64_t queue_id, absl::string_view reason = {});
  // The message is no longer scheduled (it was deleted or held): out of the scheduled
  // queue, and its jobs waiting in lanes withdrawn (those in delivery finish).
  void ForgetRetry(uint64_t queue_id);
  // SIGHUP: messages scheduled from now on use these routes and DKIM keys (null: no
  // signing); jobs already waiting in a lane keep their next hop. Results recorded from now
  // on are classified by `classifier` (null: unchanged).
  void Reconfigure(std::shared_ptr<const RouteTable> routes, std::shared_ptr<const DkimSigner> dkim,
                   std::shared_ptr<const BounceClassifier> classifier = nullptr);
  // SIGHUP: messages scheduled from now on take their pool and source from `egress` (never
  // null). Jobs already waiting in a lane keep their lane's source: a lane whose source is
  // the same in `egress` (name, address, EHLO name) goes on with it; any other lane is
  // retired (its key gets a "~N" suffix, out of the way of the new lanes), sends what it
  // has from its old source and goes when unused. A lane holds the configuration its source
  // belongs to, so the old one lives as long as such a lane.
  void ReconfigureEgress(std::shared_ptr<const EgressConfig> egress);
  // Classes failures (replaced by Reconfigure()).
  const BounceClassifier& bounce_classifier() const { return recorder_.classifier(); }

  // What `ternctl stats` shows per destination (a next hop: the recipient domain's MX, a
  // route's or the smarthost's host), since start, with what each lane holds now.
  std::vector<DestinationStats> Destinations() const;
  // The last deferrals, bounces and expiries (for the status page), oldest first.
  const std::deque<RecentFailure>& recent_failures() const { return stats_.recent_failures(); }

  // For tests and metrics.
  size_t lane_count() const { return lanes_.size(); }
  size_t active_messages() const { return active_.size(); }
  size_t waiting_retry() const { return scheduled_.size(); }

 private:
  // A message in delivery: from its scheduling until every job's results are recorded.
  struct ActiveMessage {
    uint32_t jobs_left = 0;     // not yet recorded
    uint32_t jobs_waiting = 0;  // of those, waiting in a lane's pending queue
    uint32_t attempt = 0;       // this attempt's number (1 = the first)
    uint64_t generation = 0;    // its jobs carry it (DeliveryJob::generation)
  };
  // What the agent keeps per outbound connection; owns it.
  // The longest a read job waits on its connection for its rate tokens; beyond, it goes
  // back to its lane and the connection is free (a suspension since it was read).
  static constexpr absl::Duration kTokenWaitOnConnectionMax = absl::Seconds(1);
  // How deep in a lane's pending jobs a read-ahead looks for one not read yet.
  static constexpr size_t kReadAheadLookMax = 64;
  // The longest a lane waits for another shard's connection to its site (AwaitHandoff()).
  static constexpr absl::Duration kHandoffWaitMax = absl::Milliseconds(250);

  // A job's message read from the spool (once for all the attempt's jobs), ready to send
  // once its rate tokens are taken.
  struct LoadedJob {
    explicit LoadedJob(SharedMessage shared) : prepared(std::move(shared)) {}
    SharedMessage prepared;                                // the bytes and the DKIM signature
    std::vector<net::smtp::OutboundRecipient> recipients;  // point into `prepared`
    net::smtp::OutboundMessage outbound;                   // points into the two above
  };
  class TokenWaitTimer final : public core::Timer {
   public:
    TokenWaitTimer(DeliveryAgent* agent, OutboundConnection* connection)
        : agent_(agent), connection_(connection) {}
    void OnTimer() override { agent_->SendWhenAdmitted(connection_); }

   private:
    DeliveryAgent* agent_;
    OutboundConnection* connection_;
  };
  struct ConnectionInfo {
    std::unique_ptr<OutboundConnection> connection;
    Lane* lane = nullptr;
    std::unique_ptr<ConnectAttempt> attempt;  // set until the session is ready
    // The jobs handed to the connection's session, oldest first: one, or up to
    // --pipeline_depth pipelined behind the first's end of data. Their results come in order.
    std::deque<DeliveryJob> sent;
    std::optional<DeliveryJob> job;  // the job being loaded, not sent yet
    // Its message is being read, or was read and waits for its tokens (`loaded`, with
    // `token_wait` armed) or for the connection to take it (can_send()).
    bool loading = false;
    std::unique_ptr<LoadedJob> loaded;
    std::unique_ptr<TokenWaitTimer> token_wait;
    bool reused = false;           // continued from the pool
    bool gone = false;             // closed while its message was being read
    bool yielding = false;         // goes back to the pool for another shard (or drains to)
    queue::ConnectionLease lease;  // its slots under the lane's connection limits
  };
  class LaneWakeTimer final : public core::Timer {
   public:
    LaneWakeTimer(DeliveryAgent* agent, Lane* lane) : agent_(agent), lane_(lane) {}
    void OnTimer() override { agent_->OnLaneWake(lane_); }

   private:
    DeliveryAgent* agent_;
    Lane* lane_;
  };

  class MaintenanceTimer final : public core::Timer {
   public:
    explicit MaintenanceTimer(DeliveryAgent* agent) : agent_(agent) {}
    void OnTimer() override { agent_->OnMaintenance(); }

   private:
    DeliveryAgent* agent_;
  };

  // Scheduling (delivery_agent.cc).
  void ScheduleMessage(uint64_t queue_id);
  void OnMaintenance();
  // Holds given an end (`ternctl hold --duration`) that are due: RELEASE records, then
  // scheduled (delivery_agent_operator.cc). Runs every maintenance interval.
  void ReleaseDueHolds(absl::Time now);
  // The lane of `nexthop` for recipients at `domain` (lowercase), sending from `source`
  // (null: the kernel's address).
  Lane* LaneFor(const Nexthop& nexthop, absl::string_view domain, const EgressSource* source);
  // The message's egress pool: its own (from reception) or the default; null: none.
  const EgressPool* PoolOf(const spool::QueueEntry& entry) const;
  // The lane's site is known (MX looked up, or a route): its shaping, then dispatch.
  void OnLaneSiteKnown(Lane* lane, absl::StatusOr<net::dns::MxResult> mx);
  // Wakes the lane (dispatches it) at `when` at the latest.
  void WakeLaneAt(Lane* lane, absl::Time when);
  void OnLaneWake(Lane* lane);
  // Jobs at the front of a waiting lane whose message is past its queue lifetime expire
  // (at most kExpiryChecksPerLane per maintenance pass).
  void ExpireWaitingJobs(Lane* lane, absl::Time now);
  void Dispatch(Lane* lane);
  // Jobs to the lane's ready connections; false when throttled (its timer comes back).
  bool DispatchToReady(Lane* lane);
  // Jobs pipelined behind the transactions of the lane's connections that offered it when
  // the lane had none (Lane::pipelinable): before a connection is opened for them.
  void PipelineOnBusyConnections(Lane* lane);
  // The lane's MX rollup group follows its site (placed again when its shaping changed).
  void SyncRollup(Lane* lane);
  // An idle connection of one lane becomes another's of the same rollup group.
  void MoveConnection(OutboundConnection* connection, Lane* to);
  // Puts `job` in the lane's pending queue (at the front: it was taken and comes back).
  void QueueOnLane(Lane* lane, DeliveryJob job, bool front = false);
  // The lane's first pending job whose message was not withdrawn meanwhile (stale ones are
  // dropped), or nullopt.
  std::optional<DeliveryJob> TakePending(Lane* lane);
  // TakePending, then the lane's throttles: a refused job goes back to the head of the lane
  // (its wait counted, the lane's timer armed) and `*throttled` is set.
  std::optional<DeliveryJob> TakeAdmittedJob(Lane* lane, bool* throttled);
  bool IsLive(uint64_t queue_id, uint64_t generation) const;
  // The pool names of waiting jobs, kept once (names come from the egress configuration,
  // so they are few; kept across reloads, as jobs may wait with an old one).
  const std::string* InternPoolName(absl::string_view name);
  // The SMTP client settings of connections from `source` (null: the kernel's address):
  // the flags' with the source's EHLO name. Kept for the agent's life (connections refer to
  // them), one per EHLO name.
  const net::smtp::ClientConfig* ClientConfigFor(const EgressSource* source);
  // Opens connections while jobs outnumber them, within the limits; true when it borrowed
  // an idle connection of a sibling lane (on lane->ready, for DispatchToReady).
  bool MaybeOpenConnections(Lane* lane);
  void StartJob(OutboundConnection* connection, DeliveryJob job);
  void OnMessageLoaded(OutboundConnection* connection, absl::StatusOr<SharedMessage> m);
  // The loaded job takes its message tokens and is sent; refused, it waits on its
  // connection for a short wait (the token wait timer calls this again), or goes back to
  // its lane for a long one (a suspension since it was read). A connection that cannot
  // take it yet (the transaction before it ends with RSET) sends it when ready.
  void SendWhenAdmitted(OutboundConnection* connection);
  // The most transactions a connection of `lane` carries.
  uint32_t TransactionsPerConnectionMax(const Lane& lane) const;
  // While a connection of `lane` sends, reads the lane's next job's message (MessageReads).
  void ReadAhead(Lane* lane);
  // The job of `connection`, read or being read, is not sent on it: the connection went
  // (the job goes back to the head of its lane) or ternd is stopping. Its read admission
  // is given back (LaneShaper::CancelRead).
  void AbandonJob(OutboundConnection* connection);
  // The job of a connection leaves it before its MAIL (its read failed, it goes back to its
  // lane, or it is abandoned): its read admission is given back, its token wait cancelled.
  DeliveryJob TakeBackUnsentJob(ConnectionInfo& info);
  // A read admission was given back or used: a lane that waited for one looks again.
  void WakeIfReadBlocked(Lane* lane);
  // The job's time waiting for throttles ends (counted in its log line and the stats).
  void EndThrottledWait(Lane* lane, DeliveryJob* job, absl::Time now);
  void ReleaseConnection(OutboundConnection* connection);
  ConnectionInfo& Info(OutboundConnection* connection);
  void Destroy(OutboundConnection* connection);
  void DropLaneIfUnused(Lane* lane);
  void UpdateGauges();
  // The lane's pending jobs all fail with the attempt's error (every host failed).
  void FailLane(Lane* lane, int code, absl::string_view enhanced, const absl::Status& why,
                bool permanent, absl::Time retry_not_before = absl::InfinitePast());
  // The lane's site is delayed until `until`: its pending jobs are deferred to then,
  // without a connection each.
  void DeferForDelayedSite(Lane* lane, absl::Time until);
  // A job done with (recorded, or dropped): the message is finished or rescheduled.
  void JobFinished(uint64_t queue_id);

  // OutboundConnectionOwner.
  void OnConnectionReady(OutboundConnection* connection) override;
  void OnTransactionDone(OutboundConnection* connection,
                         const net::smtp::TransactionResult& result) override;
  // The lane's next job, if it has one to spare, is pipelined behind the one in flight.
  void OnConnectionCanPipeline(OutboundConnection* connection) override;
  void OnConnectionGone(OutboundConnection* connection) override;

  // ConnectorOwner.
  void AdoptConnection(std::unique_ptr<OutboundConnection> connection,
                       std::unique_ptr<ConnectAttempt> attempt, bool reused) override;
  std::unique_ptr<ConnectAttempt> ReclaimAttempt(OutboundConnection* connection) override;
  void OnAttemptFinished(std::unique_ptr<ConnectAttempt> attempt) override;

  // PoolWakeOwner.
  void RetryLaneAtLimit(Lane* lane) override;
  void YieldIdleConnections() override;
  void RetryLanesAwaitingHandoff() override;
  // Whether `connection` (of `lane`) should go back to the shared pool instead of taking
  // another job (`has_job`) or waiting idle on this shard: another shard waits for its
  // site's or its address's connection limit, and this shard holds more than its share (or,
  // idle, any).
  bool ShouldYield(const Lane& lane, OutboundConnection* connection, bool has_job) const;
  // `lane`'s connections other than `connection` (to `to`, unless null) already chosen to
  // go back: a shard over its share by one gives back one connection, not all of them.
  uint32_t YieldedBesides(const Lane& lane, OutboundConnection* connection,
                          const net::Destination* to) const;
  // A connection of `lane` goes idle: this shard waits for no more slots of its site or
  // address (a stale wait would hold the other shards to their shares).
  void StopWaitingForSlots(const Lane& lane, OutboundConnection* connection);
  // Parks an idle connection of `lane` (not on its ready list) for the waiting shard.
  void Yield(OutboundConnection* connection);
  // A lane was refused by `scope`'s connection `limit`, which other sites share (an egress
  // source's or a provider's): it waits on the slot board, and this shard's least recently
  // used idle connection holding the scope is closed for it (one slot for one waiter).
  void WaitForSharedLimit(const std::string& scope, uint32_t limit);
  // While a limit `lane` shares with other sites is contended, a lane without a connection
  // whose site another shard holds connections to waits (up to kHandoffWaitMax) for one of
  // them to be handed over: parked when that shard's lane runs out of work, and continued
  // here without a greeting and EHLO, instead of a second slot spent on a new connection.
  // True when it waits (on the slot board under its site's scope, woken at each slot wake
  // by RetryLanesAwaitingHandoff() and at the end of its wait).
  bool AwaitHandoff(Lane* lane, absl::Time now, uint32_t cap);
  // The lane opens a connection: it waits for no handoff any more.
  void EndHandoffWait(Lane* lane);
  // Whether some lane of any shard waits for a connection limit `lane` shares with other
  // sites.
  bool SharedLimitContended(const Lane& lane) const;
  // Whether idle `connection` holds a slot of a shared limit some shard waits for.
  bool HoldsAwaitedSharedLimit(OutboundConnection* connection);
  // Closes this shard's least recently used idle connection (by idle_since()) holding
  // `scope` (null: any shared limit some shard waits for), if there is one. A connection
  // whose lane has jobs pending (held back by a throttle) is kept: it will carry them.
  void FreeLeastRecentlyUsedIdle(const std::string* scope);
  // Releases idle `connection`'s slots now and closes it (QUIT), not on any ready list.
  void FreeForSharedLimit(OutboundConnection* connection);

  // ResultListener.
  void OnDsnSpooled(uint64_t dsn_queue_id) override;
  void OnJobRecorded(uint64_t queue_id) override { JobFinished(queue_id); }

  core::Loop* const loop_;
  spool::ShardSpool* const spool_;
  net::dns::Resolver* const resolver_;
  net::DestinationPools* const pools_;
  const DeliveryConfig& config_;
  DeliveryCounters* const counters_;
  // From config_ at start; replaced by Reconfigure().
  std::shared_ptr<const RouteTable> routes_;
  std::shared_ptr<const EgressConfig> egress_;  // null: no egress sources configured
  std::unique_ptr<SourceSelector> selector_;    // picks from egress_ (null with it)
  uint64_t egress_reloads_ = 0;                 // ReconfigureEgress() calls: retired keys

  std::unique_ptr<queue::ShapingState> own_shaping_;
  queue::ShapingState* const shaping_;
  bool started_ = false;
  bool stopping_ = false;
  DestinationStatsBook stats_;
  ResultRecorder recorder_;
  MessageReads reads_;  // with the DKIM signer in force (Reconfigure())
  Connector connector_;
  LaneShaper shaper_;
  ReplyReactor reactor_;
  SiteRollup rollup_;
  absl::node_hash_set<std::string> pool_names_;
  absl::node_hash_map<std::string, net::smtp::ClientConfig> client_configs_;
  size_t lanes_resolving_ = 0;
  // The policy in force, re-read when the shaping state's version moves.
  std::shared_ptr<const queue::ShapingPolicy> policy_;
  uint64_t policy_version_ = 0;
  queue::ScheduledQueue scheduled_;
  absl::flat_hash_map<std::string, std::unique_ptr<Lane>> lanes_;
  absl::flat_hash_map<uint64_t, ActiveMessage> active_;
  uint64_t next_generation_ = 1;
  // The loop turn whose look for an idle connection holding a shared limit found none:
  // the other waiters of that turn do not look again.
  absl::Time last_shared_limit_scan_ = absl::InfinitePast();
  absl::flat_hash_set<Lane*> awaiting_handoff_;  // AwaitHandoff(): lanes in their wait
  absl::flat_hash_map<OutboundConnection*, std::unique_ptr<ConnectionInfo>> connections_;
  MaintenanceTimer maintenance_timer_{this};
  absl::flat_hash_set<uint64_t> releasing_;  // RELEASE records of due holds in flight
  PoolWakeListener pool_wake_;               // last: it registers `this` with the pools
};

}  // namespace tern::delivery
