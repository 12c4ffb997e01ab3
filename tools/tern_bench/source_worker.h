// SourceWorker: one thread of `tern-bench source` (a core::ShardThread, not pinned): its own
// loop and transport (--io_engine), its share of the connections and of the messages, its
// own SourceStats.
//
// Closed loop (rate 0): every connection sends its next message as soon as the previous
// one is answered, until the worker's messages are started or the deadline passes.
// Open loop (rate > 0): messages arrive at fixed intervals (1/rate) on a precise
// wake-up (core::Loop::WakeAtMonotonic); an arrival waits in a backlog until a connection is free,
// and its latency runs from its arrival, so a slow server cannot hide its slowness by slowing the
// generator. A connection that has sent --messages_per_connection messages says QUIT and a new one
// replaces it while there is work left.
//
//   SourceWorker worker(plan);
//   worker.Start();
//   RETURN_IF_ERROR(worker.WaitReady());  // the loop, transport and TLS context
//   ... worker.stats() (live, relaxed reads) ... worker.RequestStop() (any thread)
//   ... until worker.finished() ...
//   absl::Status result = worker.Join();
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "core/loop.h"
#include "core/shard_thread.h"
#include "net/listen_socket.h"
#include "net/tls/tls_context.h"
#include "net/transport.h"
#include "tools/tern_bench/bench_message.h"
#include "tools/tern_bench/size_distribution.h"
#include "tools/tern_bench/source_session.h"
#include "tools/tern_bench/source_stats.h"

namespace tern::tools::tern_bench {

// Nanoseconds of CLOCK_MONOTONIC (what core::Loop::WakeAtMonotonic takes).
int64_t MonotonicNowNs();

struct SourcePlan {
  net::SocketAddress target;
  uint32_t connections = 1;              // this worker's
  uint64_t messages = 0;                 // this worker's; 0: until the deadline
  int64_t deadline_ns = INT64_MAX;       // no message starts after this
  double rate = 0;                       // this worker's msgs/s; 0: closed loop
  uint32_t messages_per_connection = 0;  // 0: unlimited
  SizeDistribution sizes;
  std::string sender;
  // Message k of the run goes to every recipient of set k mod size (--to_domains): this
  // worker's n-th message is the run's k = n * streams + stream.
  std::vector<std::vector<std::string>> recipient_sets;
  SourceSessionConfig session;
  absl::Duration reply_timeout = absl::Seconds(60);
  absl::Duration connect_timeout = absl::Seconds(10);
  std::string run_id;
  uint32_t stream = 0;   // numbers this worker's messages (Message-ID)
  uint32_t streams = 1;  // workers in the run
  uint64_t seed = 1;     // size draws
};

class SourceWorker {
 public:
  explicit SourceWorker(SourcePlan plan);
  ~SourceWorker();  // stops and joins
  SourceWorker(const SourceWorker&) = delete;
  SourceWorker& operator=(const SourceWorker&) = delete;

  // Starts the worker's thread, which runs until the plan is done (or RequestStop()).
  void Start();
  // The set-up's result (loop, transport, TLS context).
  absl::Status WaitReady();
  // Any thread: start no new message; connections finish the one in flight and QUIT.
  void RequestStop();
  // Waits for the thread to end (every connection is closed then): an error when it could
  // not be set up or the target kept refusing connections.
  absl::Status Join();
  const SourceStats& stats() const { return stats_; }
  bool finished() const { return finished_.load(std::memory_order_acquire); }

 private:
  class Connection;
  class ArrivalTimer;
  friend class Connection;

  // Called by connections.
  void OnReady(Connection* connection);
  void OnConnectionEnded(Connection* connection, bool connect_failed);
  // Called by the arrival timer.
  void OnArrivals();

  bool MoreToStart(int64_t now_ns) const;
  void StartOn(Connection* connection, int64_t start_ns);
  void OpenConnections();
  void FinishIfDone();
  void Stop();
  // On the thread (core::ShardThreadHooks).
  absl::Status Setup(core::Loop* loop);
  void TearDown();

  SourcePlan plan_;
  SourceStats stats_;
  MessageFactory factory_;
  std::mt19937_64 random_;
  core::Loop* loop_ = nullptr;  // the ShardThread's, while it runs
  std::unique_ptr<net::Transport> transport_;
  std::shared_ptr<const net::tls::TlsContext> tls_;  // with plan_.session.starttls
  // Outlives the loop: an arrival wake-up still pending is cancelled with it.
  std::unique_ptr<ArrivalTimer> arrival_timer_;
  absl::flat_hash_set<Connection*> connections_;
  std::vector<Connection*> idle_;  // ready, waiting for an arrival (open loop)
  std::deque<int64_t> backlog_;    // arrivals not started yet (open loop)
  uint64_t started_ = 0;           // closed loop: messages started
  uint64_t messages_built_ = 0;    // numbers the messages (Message-ID)
  uint64_t arrivals_ = 0;          // open loop: arrivals so far
  int64_t first_arrival_ns_ = 0;
  int64_t next_arrival_ns_ = 0;
  bool arrivals_done_ = false;
  bool stopping_ = false;
  uint32_t consecutive_connect_failures_ = 0;
  absl::Status error_;
  std::atomic<bool> finished_{false};
  // Last: joined first, before the members its thread uses go.
  core::ShardThread thread_;
};

}  // namespace tern::tools::tern_bench
