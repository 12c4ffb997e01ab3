// DeliveryAgent: one shard's queue manager and delivery engine. It takes every message of
// the shard's spool that has recipients left (new ones as they become durable, the
// recovered queue at start-up, deferred ones when their retry time comes), groups the
// recipients by next hop (route, smarthost or the domain's MX), and sends them over
// outbound SMTP connections it opens or continues, batching many messages per connection.
//
//   message ──> jobs (one per next hop: its recipients) ──> lane of that next hop
//   lane: pending jobs, ready connections, connect attempts (DNS, then MX hosts in order,
//         each host's addresses in order; a host that fails passes to the next)
//   result ──> DSN for failed recipients (spooled from <> first) ──> DELIVERED / DEFERRED /
//              BOUNCED / EXPIRED records ──> delivery log ──> retry timer for what is left
//
// Limits: --max_connections_per_destination holds per destination address for the whole
// process through net::DestinationPools (and per next hop within the shard);
// --max_messages_per_connection; idle connections are closed after
// --connection_idle_timeout. A connection is opened only when the lane's pending jobs are
// more than its connections being opened can take.
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
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "core/loop.h"
#include "core/timer_wheel.h"
#include "delivery/bounce_spooler.h"
#include "delivery/delivery_config.h"
#include "delivery/delivery_counters.h"
#include "delivery/delivery_log.h"
#include "delivery/outbound_connection.h"
#include "net/destination_pool.h"
#include "net/dns/resolver.h"
#include "net/smtp/client_counters.h"
#include "net/transport.h"
#include "spool/shard_spool.h"

namespace tern::delivery {

struct DeliveryAgentDeps {
  core::Loop* loop = nullptr;
  spool::ShardSpool* spool = nullptr;
  net::Transport* transport = nullptr;
  dns::Resolver* resolver = nullptr;  // may be null when every route is an IP literal
  net::DestinationPools* pools = nullptr;
  DeliveryLog* log = nullptr;  // may be null
  const DeliveryConfig* config = nullptr;
};

class DeliveryAgent : public OutboundConnectionOwner {
 public:
  DeliveryAgent(const DeliveryAgentDeps& deps, DeliveryCounters* counters,
                smtp::ClientCounters* client_counters);
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
  // delivery" from its scheduling until its results are recorded.
  bool InDelivery(uint64_t queue_id) const { return active_.contains(queue_id); }
  // flush: a waiting message (deferred or new) is scheduled now. False when it is held,
  // in delivery already, finished or unknown.
  bool DeliverNow(uint64_t queue_id);
  // Returns the message to its sender: every recipient left bounces (5.0.0) with a DSN as
  // for any failure, then BOUNCED records. FailedPrecondition while in delivery (try again).
  // `reason` (the operator's words; empty: "message returned by the operator") is the DSN's
  // diagnostic and the delivery log's reply; the caller keeps it to one printable line.
  absl::Status Bounce(uint64_t queue_id, absl::string_view reason = {});
  // The message is no longer scheduled (it was deleted or held).
  void ForgetRetry(uint64_t queue_id);
  // SIGHUP: messages scheduled from now on use these routes and DKIM keys (null: no
  // signing); jobs already waiting in a lane keep their next hop.
  void Reconfigure(std::shared_ptr<const RouteTable> routes,
                   std::shared_ptr<const DkimSigner> dkim);

  // What `ternctl stats` shows per destination (a next hop: the recipient domain's MX, a
  // route's or the smarthost's host), since start.
  struct DestinationStats {
    std::string name;  // "example.com (MX)", "[127.0.0.1]:2600"
    uint64_t delivered = 0;
    uint64_t deferred = 0;
    uint64_t bounced = 0;
    std::string last_error;  // the last failure's reply or reason
    absl::Time last_error_at = absl::InfinitePast();
    // Recipient results (any) in the last whole minute, and the minute being counted.
    uint64_t results_last_minute = 0;
    uint64_t results_this_minute = 0;
    int64_t minute = 0;  // unix minutes
    // Now (from the lane, 0 when idle): jobs waiting, connections open or being opened.
    size_t pending_jobs = 0;
    size_t connections = 0;
    size_t connecting = 0;

    // Moves the per-minute count on to `now_minute`: the minute counted so far becomes the
    // last whole one if it was the one before, else no result came in the last minute.
    void RollToMinute(int64_t now_minute);
  };
  static constexpr size_t kDestinationStatsMax = 10000;
  std::vector<DestinationStats> Destinations() const;

  // The last deferrals, bounces and expiries (for the status page), oldest first.
  struct RecentFailure {
    absl::Time at;
    uint64_t queue_id = 0;
    std::string recipient;
    std::string result;  // "deferred", "bounced", "expired"
    std::string reply;
    std::string destination;
  };
  static constexpr size_t kRecentFailuresKept = 50;
  const std::deque<RecentFailure>& recent_failures() const { return recent_failures_; }

  // For tests and metrics.
  size_t lane_count() const { return lanes_.size(); }
  size_t active_messages() const { return active_.size(); }
  size_t waiting_retry() const { return retries_.size(); }

 private:
  struct Lane;
  struct Job {
    uint64_t queue_id = 0;
    std::vector<uint32_t> recipients;  // indexes into the message's recipients
    bool stale_retry_done = false;     // already re-sent once after a reused connection died
    std::string message_id;            // known once the message was read
  };
  struct ActiveMessage {
    uint32_t jobs_left = 0;
    uint32_t attempt = 0;  // this attempt's number (1 = the first)
  };
  // A connection being opened for a lane: the hosts to try and where we are.
  struct ConnectAttempt {
    Lane* lane = nullptr;
    std::vector<std::string> hosts;  // MX hosts (or the route's host) in order
    size_t next_host = 0;
    std::string host;                         // the host being tried
    std::vector<sockaddr_storage> addresses;  // of `host`, in order
    size_t next_address = 0;
    absl::Status last_error;  // why the last host or address failed
    bool permanent = false;   // the domain cannot receive mail (NXDOMAIN, null MX)
    bool at_limit = false;    // some address was skipped for its connection limit
    int code = 451;           // the reply the lane's jobs get if every host failed
    std::string enhanced = "4.4.1";
  };
  struct Lane {
    std::string key;
    Nexthop nexthop;
    smtp::StartTlsPolicy tls = smtp::StartTlsPolicy::kOpportunistic;
    std::deque<Job> pending;
    std::vector<OutboundConnection*> ready;                // idle, waiting for a job
    absl::flat_hash_set<OutboundConnection*> connections;  // every one of this lane, opened
    size_t attempts = 0;                                   // connect attempts running
    size_t closed_while_loading = 0;  // connections gone, still owned until their read ends
    absl::Time no_attempt_before = absl::InfinitePast();  // after a failed or blocked one
  };
  // What the agent keeps per outbound connection; owns it.
  struct ConnectionInfo {
    std::unique_ptr<OutboundConnection> connection;
    Lane* lane = nullptr;
    std::unique_ptr<ConnectAttempt> attempt;  // set until the session is ready
    std::optional<Job> job;                   // the job being sent (or loaded)
    bool loading = false;                     // its message is being read
    bool reused = false;                      // continued from the pool
    bool gone = false;                        // closed while its message was being read
  };
  // A job's outcome for one recipient.
  struct Outcome {
    uint32_t recipient = 0;
    smtp::DeliveryOutcome outcome = smtp::DeliveryOutcome::kTempFailed;
    int code = 0;
    std::string enhanced;  // "4.4.1"
    std::string reply;     // the remote reply or our reason
  };
  struct Completion;

  class RetryTimer final : public core::Timer {
   public:
    explicit RetryTimer(DeliveryAgent* agent) : agent_(agent) {}
    void OnTimer() override { agent_->OnRetryTimer(); }

   private:
    DeliveryAgent* agent_;
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
  void AddRetry(uint64_t queue_id, int64_t due_unix_us);
  void ArmRetryTimer();
  void OnRetryTimer();
  void OnMaintenance();
  // Holds given an end (`ternctl hold --duration`) that are due: RELEASE records, then
  // scheduled (delivery_agent_operator.cc). Runs every maintenance interval.
  void ReleaseDueHolds(absl::Time now);
  Lane* LaneFor(const Nexthop& nexthop);
  void Dispatch(Lane* lane);
  void MaybeOpenConnections(Lane* lane);
  void StartJob(OutboundConnection* connection, Job job);
  void OnMessageLoaded(OutboundConnection* connection, absl::StatusOr<spool::LoadedMessage> m);
  void ReleaseConnection(OutboundConnection* connection);
  ConnectionInfo& Info(OutboundConnection* connection);
  void Destroy(OutboundConnection* connection);
  void DropLaneIfUnused(Lane* lane);
  void UpdateGauges();
  // Counts results toward the lane's destination stats (delivery_agent_operator.cc).
  void NoteDestinationResult(const Lane& lane, smtp::DeliveryOutcome outcome,
                             absl::string_view reply);

  // OutboundConnectionOwner.
  void OnConnectionReady(OutboundConnection* connection) override;
  void OnTransactionDone(OutboundConnection* connection,
                         const smtp::TransactionResult& result) override;
  void OnConnectionGone(OutboundConnection* connection) override;

  // Connecting (delivery_agent_connect.cc).
  void BeginAttempt(Lane* lane);
  void OnMxResolved(ConnectAttempt* attempt, absl::StatusOr<dns::MxResult> mx);
  void TryNextHost(std::unique_ptr<ConnectAttempt> attempt);
  void TryNextAddress(std::unique_ptr<ConnectAttempt> attempt);
  // Continues a connection some shard parked for `destination`, if there is one: true when
  // it took the attempt (now the connection's).
  bool ResumeParked(const std::shared_ptr<net::Destination>& destination,
                    std::unique_ptr<ConnectAttempt>* attempt);
  void FinishAttempt(std::unique_ptr<ConnectAttempt> attempt);
  void FailLane(Lane* lane, int code, absl::string_view enhanced, const absl::Status& why,
                bool permanent);

  // Results (delivery_agent_results.cc).
  void FailJob(Job job, smtp::DeliveryOutcome outcome, int code, absl::string_view enhanced,
               absl::string_view reason, absl::string_view destination);
  // `next_hop_has_dsn`: the server that took the message offered DSN, so NOTIFY=SUCCESS is
  // its business; otherwise this relay reports "relayed" to the sender (RFC 3461 §6.2.2).
  void CompleteJob(Job job, std::vector<Outcome> outcomes, std::string destination,
                   std::optional<spool::LoadedMessage> loaded, bool next_hop_has_dsn = true);
  void ContinueCompletion(std::unique_ptr<Completion> completion);
  void RecordCompletion(std::unique_ptr<Completion> completion);
  void LogCompletion(const Completion& completion);
  void JobFinished(uint64_t queue_id);

  core::Loop* const loop_;
  spool::ShardSpool* const spool_;
  net::Transport* const transport_;
  dns::Resolver* const resolver_;
  net::DestinationPools* const pools_;
  DeliveryLog* const log_;
  const DeliveryConfig& config_;
  DeliveryCounters* const counters_;
  smtp::ClientCounters* const client_counters_;
  BounceSpooler bounces_;
  // From config_ at start; replaced by Reconfigure().
  std::shared_ptr<const RouteTable> routes_;
  std::shared_ptr<const DkimSigner> dkim_;

  bool started_ = false;
  bool stopping_ = false;
  absl::flat_hash_map<std::string, std::unique_ptr<Lane>> lanes_;
  absl::flat_hash_map<uint64_t, ActiveMessage> active_;
  std::set<std::pair<int64_t, uint64_t>> retries_;    // (due unix us, queue id)
  absl::flat_hash_map<uint64_t, int64_t> retry_due_;  // queue id -> its entry in retries_
  absl::flat_hash_map<OutboundConnection*, std::unique_ptr<ConnectionInfo>> connections_;
  size_t attempts_in_dns_ = 0;  // attempts waiting for the resolver
  size_t completions_ = 0;      // results being spooled
  absl::flat_hash_map<std::string, DestinationStats> destination_stats_;  // by lane key
  std::deque<RecentFailure> recent_failures_;
  RetryTimer retry_timer_{this};
  MaintenanceTimer maintenance_timer_{this};
  absl::flat_hash_set<uint64_t> releasing_;  // RELEASE records of due holds in flight
};

}  // namespace tern::delivery
