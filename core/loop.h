// Loop: one shard's event loop, whatever I/O engine drives it (io_uring: engine/uring/,
// epoll: engine/epoll/; engine/io_engine.h creates either). Everything at shard level —
// SMTP sessions, the spool's group commit, delivery, DNS, logs, tern-bench — depends on
// this interface, never on the engine.
//
// One iteration: the engine waits for I/O (at most until the timer wheel's next deadline),
// hands each finished operation to its Completion, advances the timer wheel, then runs the
// iteration hooks (the spool's group commit flushes there, so all records appended during
// one iteration go out as one write + one fdatasync).
//
// The loop is single-threaded: every method must be called on the thread that created it,
// except Wake(), which any thread may call (it writes the loop's eventfd), and the Mailbox,
// through which other threads hand the loop work to run on its thread.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<core::Loop> loop, engine::CreateLoop(kind));
//   loop->timers().Arm(&my_timer, loop->now() + absl::Seconds(5));
//   loop->Run();  // until Stop()
//
// The few operations that are neither socket nor spool I/O are part of the loop, one
// virtual call per operation: a one-shot readiness poll (c-ares' sockets), a precise
// wake-up (tern-bench's open-loop arrivals) and an append write (core/append_file.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/timer_wheel.h"

namespace tern::core {

// Receives the result of one asynchronous operation of a loop (or of an engine's
// transport or storage).
class Completion {
 public:
  virtual ~Completion() = default;
  // res is the operation's result (negative errno on failure); flags are engine-specific
  // (io_uring's CQE flags; 0 elsewhere).
  virtual void OnComplete(int32_t res, uint32_t flags) = 0;
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

class Loop {
 public:
  virtual ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  // Runs until Stop() is called and the current iteration has finished.
  virtual void Run() = 0;
  // Asks Run() to return at the end of the current iteration.
  void Stop() { stop_requested_ = true; }
  bool stopping() const { return stop_requested_; }
  // Lets Run() run again after a Stop() (tests that drive one loop in several steps).
  void ClearStop() { stop_requested_ = false; }

  // Called once per iteration after completions are processed, in registration order.
  void AddIterationHook(std::function<void()> hook);
  // Called (on the loop's thread) after another thread called Wake().
  void SetWakeHandler(std::function<void()> handler);
  // Thread-safe: makes the loop call its wake handler soon.
  void Wake();
  // For other threads: post work to run on this loop's thread (see Mailbox).
  const std::shared_ptr<Mailbox>& mailbox() const { return mailbox_; }
  // Loop thread only: makes sure another iteration (and so the iteration hooks) runs soon,
  // even if no I/O is pending.
  virtual void WakeSoon() = 0;
  // Loop thread only: calls `fn` from this loop, never inside this call (answers that must
  // not reach a caller from inside the call that asked). Calls made in one iteration run
  // in order.
  virtual void RunSoon(absl::AnyInvocable<void()> fn) = 0;
  // Hands operations prepared so far to the kernel now (the loop also does before every
  // wait); a no-op for engines that start each operation at once.
  virtual void Submit() = 0;

  // One-shot readiness poll of `fd` for `poll_events` (POLLIN and/or POLLOUT): `done` gets
  // the revents that occurred (POLLERR/POLLHUP included), or a negative errno; -ECANCELED
  // after CancelPoll() (or the normal result if it raced the cancel). One poll per `done`
  // at a time; `done` must stay alive until it completes.
  virtual void PollOnce(int fd, unsigned poll_events, Completion* done) = 0;
  virtual void CancelPoll(Completion* done) = 0;
  // A precise one-shot wake-up at an absolute CLOCK_MONOTONIC time in nanoseconds (the
  // timer wheel ticks every 10 ms, too coarse for sub-millisecond arrivals): `done` gets 0
  // or -ETIME. Not cancellable; `done` must outlive it.
  virtual void WakeAtMonotonic(int64_t monotonic_ns, Completion* done) = 0;
  // Writes `size` bytes at `data` to `fd` (opened O_APPEND: the kernel keeps each write
  // whole) without blocking the loop: `done` gets the bytes written (possibly fewer) or a
  // negative errno. The bytes must stay valid until then.
  virtual void AppendWrite(int fd, const char* data, size_t size, Completion* done) = 0;

  // "io_uring" or "epoll".
  virtual const char* engine_name() const = 0;
  // The engine's start-up choices, for one log line ("single_issuer=on ...").
  virtual std::string DescribeFeatures() const = 0;

  TimerWheel& timers() { return timers_; }
  absl::Time now() const { return now_; }

 protected:
  // Creates the wake eventfd (Create() of each engine calls InitWake() before use).
  Loop() = default;
  absl::Status InitWake();
  // The eventfd Wake() and Mailbox::Post() write: the engine watches it for reading.
  int wake_fd() const { return wake_fd_; }
  // The engine read the eventfd: runs posted work, then the wake handler.
  void DeliverWake();
  // After an engine's wait: completions see the time they arrived at (a deadline armed
  // while handling one counts from now, not from before the wait).
  void set_now(absl::Time now) { now_ = now; }
  // After completions: advances the timers to now and runs the iteration hooks.
  void FinishIteration();

 private:
  bool stop_requested_ = false;
  absl::Time now_ = absl::InfinitePast();
  TimerWheel timers_;
  std::vector<std::function<void()>> iteration_hooks_;
  std::function<void()> wake_handler_;
  int wake_fd_ = -1;
  std::shared_ptr<Mailbox> mailbox_ = std::make_shared<Mailbox>();
  std::vector<absl::AnyInvocable<void()>> mail_;  // taken from the mailbox, run in order
};

}  // namespace tern::core
