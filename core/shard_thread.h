// ShardThread: the shard runtime. One thread, pinned to a CPU if asked, that owns one
// core::Loop: it creates the loop (through the caller's factory: core/ knows no engine),
// builds the caller's objects on that thread, runs the loop, and tears everything down on
// that thread again. Other threads talk to it only through Post() and RequestStop(). ternd's
// shards and tern-bench's sink and source threads all run on it.
//
//   core::ShardThread thread({.name = "shard-0", .cpu = 0, .log_shard_id = 0});
//   thread.Start([kind] { return engine::CreateLoop(kind); },
//                {.set_up = [&](core::Loop* loop) { return server.Open(loop); },
//                 .on_stop = [&] { server.BeginShutdown(); },  // ends with loop->Stop()
//                 .tear_down = [&] { server.Close(); }});
//   RETURN_IF_ERROR(thread.WaitReady());    // the factory's or set_up's error, if any
//   thread.Post([&] { server.Reload(); });  // runs on the thread, in posting order
//   thread.RequestStop();                   // on_stop runs on the thread, once
//   thread.Join();
//
// On the thread, in order: pin (a CPU the process may not use is logged, not fatal: the
// thread then runs unpinned), name it, create the loop, set_up(loop), then — set-up done —
// WaitReady() returns OK, on_stop runs at once if a stop was requested meanwhile, and
// loop->Run() runs until something calls loop->Stop(). Then tear_down() and the loop is
// destroyed. When the factory or set_up fails, WaitReady() returns that error, tear_down()
// runs (it must cope with a partial set-up) and the thread ends; on_stop never runs.
#pragma once

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "core/loop.h"

namespace tern::core {

struct ShardThreadOptions {
  std::string name;       // the thread's name (top -H), cut to 15 bytes; empty: unnamed
  int cpu = -1;           // the CPU to pin the thread to; -1: not pinned
  int log_shard_id = -1;  // the shard id in this thread's log lines; -1: none
};

// What runs on the thread (each may be empty).
struct ShardThreadHooks {
  // With the new loop, before it runs: builds what the thread owns. An error ends the thread.
  absl::AnyInvocable<absl::Status(Loop* loop)> set_up;
  // Once, after RequestStop(), when set-up has succeeded. Empty: loop->Stop() at once.
  // Otherwise it must lead to loop->Stop() (after a graceful shutdown, say).
  absl::AnyInvocable<void()> on_stop;
  // After the loop returned (or set-up failed), while the loop still exists.
  absl::AnyInvocable<void()> tear_down;
};

// Creates the thread's loop, on the thread (engine::CreateLoop, for one).
using LoopFactory = absl::AnyInvocable<absl::StatusOr<std::unique_ptr<Loop>>()>;

class ShardThread {
 public:
  explicit ShardThread(ShardThreadOptions options);
  // RequestStop() and Join().
  ~ShardThread();
  ShardThread(const ShardThread&) = delete;
  ShardThread& operator=(const ShardThread&) = delete;

  // Starts the thread. Once per ShardThread.
  void Start(LoopFactory make_loop, ShardThreadHooks hooks);
  // Blocks until set-up finished: OK, or the loop factory's or set_up's error.
  absl::Status WaitReady();
  // Thread-safe: set-up has succeeded (and the thread may still be running).
  bool ready() const;
  // Thread-safe: runs `fn` on the thread soon, in posting order (the loop's Mailbox). False
  // when the thread is not ready or its loop is gone; `fn` is then destroyed by the caller.
  bool Post(absl::AnyInvocable<void()> fn);
  // Thread-safe, idempotent: on_stop runs on the thread, once (after set-up if it is still
  // in progress; never if set-up failed).
  void RequestStop();
  // Waits for the thread to end. Idempotent.
  void Join();
  const ShardThreadOptions& options() const { return options_; }

 private:
  void Main(LoopFactory make_loop);
  // On the thread: runs on_stop (or stops the loop) the first time only.
  void StopOnThread();

  const ShardThreadOptions options_;
  ShardThreadHooks hooks_;
  std::thread thread_;
  absl::Notification ready_;
  absl::Status setup_status_;  // written before ready_ is notified, read after

  mutable absl::Mutex mutex_;
  bool stop_requested_ ABSL_GUARDED_BY(mutex_) = false;
  // The loop's mailbox once set-up succeeded (kept after the loop is gone: Post() then fails).
  std::shared_ptr<Mailbox> mailbox_ ABSL_GUARDED_BY(mutex_);

  // Thread only.
  Loop* loop_ = nullptr;  // while it runs
  bool stop_ran_ = false;
};

// The CPUs this process may run on (sched_getaffinity), in ascending order; {0} if unknown.
std::vector<int> AllowedCpus();

}  // namespace tern::core
