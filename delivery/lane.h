// Lane: one next hop's share of a shard's delivery: the jobs waiting for it, its ready
// (idle, established) connections, every connection it opened, and the connect attempts
// running. The delivery agent dispatches a lane's pending jobs to its ready connections
// and asks the connector for more connections while jobs outnumber the attempts.
//
//   lane.pending.push_back(job);            // scheduled
//   OutboundConnection* c = lane.TakeReady(); // an idle connection, or null
//   lane.Forget(c);                          // closed: no longer ready nor counted
#pragma once

#include <algorithm>
#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/time/time.h"
#include "core/timer_wheel.h"
#include "delivery/delivery_job.h"
#include "delivery/egress_config.h"
#include "delivery/outbound_connection.h"
#include "delivery/route_table.h"
#include "delivery/waiting_job.h"
#include "net/smtp/client_session.h"
#include "queue/reply_rule_matcher.h"
#include "queue/shaping_options.h"
#include "queue/site_health.h"
#include "queue/throttle_path.h"

namespace tern::delivery {

struct Lane {
  std::string key;  // "mx:example.com:25", "host:127.0.0.1:2600"
  Nexthop nexthop;
  net::smtp::StartTlsPolicy tls = net::smtp::StartTlsPolicy::kOpportunistic;
  std::deque<WaitingJob> pending;
  std::vector<OutboundConnection*> ready;  // idle, waiting for a job
  // In a transaction, and the next one could be pipelined behind it, but the lane had no
  // job when the connection said so: the next job queued goes there before a connection is
  // opened for it. May be stale (checked when taken); each at most once.
  std::vector<OutboundConnection*> pipelinable;
  absl::flat_hash_set<OutboundConnection*> connections;  // every one of this lane, opened
  size_t attempts = 0;                                   // connect attempts running
  size_t closed_while_loading = 0;  // connections gone, still owned until their read ends
  absl::Time no_attempt_before = absl::InfinitePast();  // after a failed or blocked one
  // Shared by every shard's lane to the same site: healthy, untested or delayed.
  std::shared_ptr<queue::SiteHealth> health;

  // Shaping (delivery/lane_shaper.h): what the policy and the overrides in force say for
  // this lane, resolved once its site is known (after its MX lookup) and again when the
  // policy or an override changes.
  std::string domain;                    // the recipient domain of an MX lane; "" for a route
  std::string source;                    // egress source name; "" for the kernel's address
  const EgressSource* egress = nullptr;  // that source (null: the kernel's address)
  // The configuration `egress` points into, kept alive by the lane (SIGHUP may replace the
  // agent's); set exactly when `egress` is.
  std::shared_ptr<const EgressConfig> egress_config;
  // The SMTP client settings of its connections: the global ones, with the source's EHLO
  // name when it has one. Kept by the delivery agent for its whole life (one per EHLO
  // name), as connections outlive lanes (MX rollup passes them between lanes).
  const net::smtp::ClientConfig* client = nullptr;
  std::vector<std::string> mx_hosts;         // its site: the MX hosts, sorted ("" entries none)
  std::string site_scope;                    // "site:...", "domain:..." or "route:..."
  std::string provider;                      // the matching provider block's name, or ""
  std::vector<std::string> override_scopes;  // least specific first
  queue::ShapingOptions options = queue::ShapingOptions::BuiltInDefaults();  // in force
  queue::ThrottlePath throttle;
  std::shared_ptr<const LaneLabels> labels;  // for its jobs' delivery log lines
  // The policy's retry_schedule / max_queue_lifetime for it (null: the flags').
  std::shared_ptr<const queue::RetrySchedule> retry;
  std::shared_ptr<const queue::ReplyRuleMatcher> rules;  // its automation rules, or null
  bool resolving = false;                                // its MX lookup runs: jobs wait for it
  bool shaped = false;                                   // resolved at least once
  absl::Time suspended_until = absl::InfinitePast();
  uint64_t shaping_version = 0;
  absl::Time shaping_next_change = absl::InfiniteFuture();
  // Jobs read (or being read) for this lane that have not taken their message tokens yet
  // (LaneShaper::AdmitRead); read_blocked: a job waits for them to take theirs.
  uint32_t messages_reading = 0;
  bool read_blocked = false;
  // MX rollup (delivery/site_rollup.h): the group of lanes it shares connections with
  // ("" none), whether it waits for one there, and the shaping version it was placed at.
  const std::string* rollup_group = nullptr;  // the SiteRollup's key, null: none
  bool rollup_waiting = false;
  bool rollup_idle = false;  // on its group's list of lanes that may lend a connection
  uint64_t rollup_version = 0;
  std::unique_ptr<core::Timer> wake;  // armed while a throttle or suspension makes it wait
  // While a limit it shares with other sites is contended and another shard holds a
  // connection to its site: it waits until then for that connection to be handed over
  // (InfinitePast: it does not wait for one).
  absl::Time handoff_until = absl::InfinitePast();
  absl::Time wake_at = absl::InfiniteFuture();

  // The most recently idle connection (the warmest), or null.
  OutboundConnection* TakeReady() {
    if (ready.empty()) return nullptr;
    OutboundConnection* c = ready.back();
    ready.pop_back();
    return c;
  }
  // `connection` is no longer this lane's: out of `ready`, `pipelinable` and `connections`.
  void Forget(OutboundConnection* connection) {
    connections.erase(connection);
    auto r = std::find(ready.begin(), ready.end(), connection);
    if (r != ready.end()) ready.erase(r);
    auto p = std::find(pipelinable.begin(), pipelinable.end(), connection);
    if (p != pipelinable.end()) pipelinable.erase(p);
  }
  // Nothing waits, runs or is owned: the lane may be dropped.
  bool Unused() const {
    return pending.empty() && connections.empty() && attempts == 0 && closed_while_loading == 0 &&
           !resolving;
  }
  // What `ternctl stats` calls this destination.
  std::string DestinationName() const;
};

// The key of the lane of `nexthop`.
std::string LaneKey(const Nexthop& nexthop);

}  // namespace tern::delivery
