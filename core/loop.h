// Loop: one shard's event loop around its own io_uring ring.
//
// Every asynchronous operation is an SQE whose user_data points at a Completion; when its
// CQE arrives the loop calls Completion::OnComplete(res, flags). Multishot operations
// complete many times (IORING_CQE_F_MORE set while more will follow). After each batch of
// completions the loop runs its iteration hooks (the spool's group commit flushes there, so
// all records appended during one iteration go out as one write + one fdatasync), then
// submits everything prepared and waits for the next completion or the nearest timer.
//
// The loop is single-threaded: every method must be called on the thread that created it,
// except Wake(), which any thread may call (it writes the loop's eventfd), and the Mailbox,
// through which other threads hand the loop work to run on its thread.
//
//   ASSIGN_OR_RETURN(auto loop, core::Loop::Create(options));
//   io_uring_sqe* sqe = loop->PrepareSqe(&my_completion);
//   io_uring_prep_send(sqe, fd, data, len, 0);
//   loop->Run();  // until Stop()
#pragma once

#include <liburing.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/timer_wheel.h"

namespace tern::core {

// Receives the result of one asynchronous operation.
class Completion {
 public:
  virtual ~Completion() = default;
  // res is the CQE's result (negative errno on failure), flags the CQE flags.
  virtual void OnComplete(int32_t res, uint32_t flags) = 0;
};

// What the kernel offered at start-up, chosen once (see Loop::Create).
struct RingFeatures {
  bool single_issuer = false;
  bool defer_taskrun = false;
  bool coop_taskrun = false;
  bool multishot_accept = false;
  bool multishot_recv = false;
  bool provided_buffer_ring = false;
  bool send_zc = false;
  std::string Describe() const;
};

// Work other threads send to a loop (a password check's answer, say). Shared: a sender
// keeps its std::shared_ptr<Mailbox> and posts as long as it likes; once the loop is gone,
// Post() returns false and the function is dropped (destroyed on the sender's thread).
class Mailbox {
 public:
  // Thread-safe. `fn` runs on the loop's thread soon, in posting order.
  bool Post(absl::AnyInvocable<void()> fn);

 private:
  friend class Loop;
  absl::Mutex mutex_;
  int wake_fd_ ABSL_GUARDED_BY(mutex_) = -1;  // -1: the loop is gone
  std::vector<absl::AnyInvocable<void()>> posted_ ABSL_GUARDED_BY(mutex_);
};

struct LoopOptions {
  unsigned sq_entries = 4096;
};

class Loop {
 public:
  // Creates the ring, probing features. Call on the thread that will run the loop.
  static absl::StatusOr<std::unique_ptr<Loop>> Create(const LoopOptions& options);
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  // Returns an SQE whose user_data is `completion` (nullptr: the CQE is ignored). Never
  // fails: when the submission queue is full, what is queued is submitted first.
  io_uring_sqe* PrepareSqe(Completion* completion);
  // Submits prepared SQEs now (the loop also submits before every wait).
  void Submit();

  // Runs until Stop() is called and the stop hook has let the loop finish.
  void Run();
  // Asks Run() to return at the end of the current iteration.
  void Stop();
  bool stopping() const { return stop_requested_; }

  // Called once per iteration after completions are processed, in registration order.
  void AddIterationHook(std::function<void()> hook);
  // Called (on the loop's thread) after another thread called Wake().
  void SetWakeHandler(std::function<void()> handler);
  // Thread-safe: makes the loop call its wake handler soon.
  void Wake();
  // For other threads: post work to run on this loop's thread (see Mailbox).
  const std::shared_ptr<Mailbox>& mailbox() const { return mailbox_; }
  // Loop thread only: makes sure another iteration (and so the iteration hooks) runs soon,
  // even if no I/O is pending (queues a no-op on the ring).
  void WakeSoon();
  // Loop thread only: calls `fn` from a completion on this loop, never inside this call
  // (answers that must not reach a caller from inside the call that asked). Calls made in
  // one iteration run in order.
  void RunSoon(absl::AnyInvocable<void()> fn);

  TimerWheel& timers() { return timers_; }
  absl::Time now() const { return now_; }
  io_uring* ring() { return &ring_; }
  const RingFeatures& features() const { return features_; }

 private:
  class WakeReader;
  Loop() = default;
  void ProcessCompletions();
  void ArmWakeRead();

  io_uring ring_{};
  bool ring_ready_ = false;
  RingFeatures features_;
  bool stop_requested_ = false;
  absl::Time now_ = absl::InfinitePast();
  TimerWheel timers_;
  std::vector<std::function<void()>> iteration_hooks_;
  std::function<void()> wake_handler_;
  int wake_fd_ = -1;
  uint64_t wake_value_ = 0;
  std::unique_ptr<WakeReader> wake_reader_;
  std::shared_ptr<Mailbox> mailbox_ = std::make_shared<Mailbox>();
  std::vector<absl::AnyInvocable<void()>> mail_;  // taken from the mailbox, run in order
};

}  // namespace tern::core
