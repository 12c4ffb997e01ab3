// SinkThread: one thread of `tern-bench sink`, shard-style (a core::ShardThread, not
// pinned): its own core::Loop, its own
// net::Transport (of --io_engine) accepting on its own SO_REUSEPORT listener, its own record writer
// and counters. Nothing is shared with the other threads but the run's StopRequest and the
// count of accepted messages (for --exit_after).
//
//   SinkThread thread(config);
//   thread.Start();
//   RETURN_IF_ERROR(thread.WaitReady());
//   ... thread.counters().Snapshot() from any thread ...
//   thread.RequestStop();  // any thread: 421 to every client, flush, close, return
//   thread.Join();
//
// Stopping: the listener closes, held replies go out at once, every session answers
// 421 4.3.2 and closes once its replies are sent; connections still open after
// kShutdownGrace are cut. The thread returns when every connection is closed and the
// record file has been written.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "core/loop.h"
#include "core/shard_thread.h"
#include "core/timer_wheel.h"
#include "net/transport.h"
#include "tools/tern_bench/sink_connection.h"
#include "tools/tern_bench/sink_counters.h"
#include "tools/tern_bench/sink_record.h"
#include "tools/tern_bench/sink_session.h"
#include "tools/tern_bench/sink_stop.h"

namespace tern::tools::tern_bench {

struct SinkThreadConfig {
  uint32_t index = 0;
  // Bound and listening (one per --listen address); the thread's transport owns them from
  // Start().
  std::vector<int> listen_fds;
  const SinkProfile* profile = nullptr;
  absl::Duration idle_timeout = absl::Minutes(5);
  uint64_t fault_seed = 0;
  std::string record_path;  // empty: no --record
  StopRequest* stop = nullptr;
  // Messages answered 250 by all threads, and how many end the run (0: no limit).
  std::atomic<uint64_t>* accepted_total = nullptr;
  uint64_t exit_after = 0;
};

class SinkThread : public SinkMessageObserver {
 public:
  static constexpr absl::Duration kShutdownGrace = absl::Seconds(2);

  explicit SinkThread(SinkThreadConfig config);
  ~SinkThread() override;  // stops and joins
  SinkThread(const SinkThread&) = delete;
  SinkThread& operator=(const SinkThread&) = delete;

  void Start();
  // The set-up's result (loop, transport, listener, record file).
  absl::Status WaitReady();
  // Any thread.
  void RequestStop();
  void Join();
  const SinkCounters& counters() const { return counters_; }
  // The ring's features, once ready.
  const std::string& features() const { return features_; }

  void OnMessage(const MessageOutcome& outcome) override;

 private:
  class Acceptor;
  // On the thread (core::ShardThreadHooks).
  absl::Status Setup(core::Loop* loop);
  void TearDown();
  void BeginShutdown();
  void OnIteration();

  SinkThreadConfig config_;
  core::ShardThread thread_;
  std::string features_;
  SinkCounters counters_;

  // Loop thread only (the loop is the ShardThread's).
  core::Loop* loop_ = nullptr;
  std::unique_ptr<net::Transport> transport_;
  std::unique_ptr<Acceptor> acceptor_;
  std::unique_ptr<RecordWriter> record_;
  SinkConnectionContext context_;
  std::unique_ptr<ReleaseScheduler> releases_;
  std::unique_ptr<core::Timer> shutdown_ticker_;  // keeps the loop turning while stopping
  bool shutting_down_ = false;
  bool connections_aborted_ = false;
  absl::Time shutdown_deadline_ = absl::InfiniteFuture();
};

}  // namespace tern::tools::tern_bench
