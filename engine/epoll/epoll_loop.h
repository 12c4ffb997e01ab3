// EpollLoop: core::Loop on epoll, the engine for hosts where io_uring is refused (a seccomp
// profile, kernel.io_uring_disabled, an old kernel). The shard thread waits in epoll_wait
// (at most until the timer wheel's next deadline) and acts on readiness; what cannot be
// done without blocking — file writes, fdatasync, opens, reads, unlinks — runs on the
// loop's FileWorker thread, whose results come back through PostCompletion():
//
//   sockets  EpollTransport / EpollConnection  readiness -> accept4, recv, send, sendmsg
//   files    PoolStorage, AppendWrite          FileWorker -> PostCompletion -> OnComplete
//   DNS      PollOnce (EPOLLONESHOT-style: one registration per poll)
//   timers   the timer wheel; WakeAtMonotonic on one timerfd
//
// Handlers registered with Watch() get the epoll events of their fd on the loop's thread.
// An object whose fd was unwatched during an iteration may still be named by an event of
// that iteration's batch: owners free such objects only from RunSoon() callbacks, which
// run after the batch.
//
//   ASSIGN_OR_RETURN(auto loop, engine::EpollLoop::Create());
//   loop->Watch(fd, EPOLLIN, &handler);
//   loop->Run();  // until Stop()
#pragma once

#include <cstdint>
#include <memory>
#include <queue>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/loop.h"

namespace tern::engine::epoll {

class FileWorker;

class EpollLoop final : public core::Loop {
 public:
  // Gets the epoll events of a watched fd.
  class FdHandler {
   public:
    virtual ~FdHandler() = default;
    virtual void OnEvents(uint32_t events) = 0;
  };

  // Creates the epoll instance, the wake eventfd, the completion eventfd, the timerfd and
  // the file worker thread. Call on the thread that will run the loop.
  static absl::StatusOr<std::unique_ptr<EpollLoop>> Create();
  // The loop a core::Loop* of this engine is (CHECKs that it is one).
  static EpollLoop* Of(core::Loop* loop);
  ~EpollLoop() override;

  // Registers (or changes) `fd`'s interest and handler; events 0 keeps the fd registered
  // but asks for nothing (errors and hang-ups are still reported).
  absl::Status Watch(int fd, uint32_t events, FdHandler* handler);
  absl::Status Modify(int fd, uint32_t events, FdHandler* handler);
  void Unwatch(int fd);

  // Thread-safe: `done->OnComplete(res, 0)` runs on the loop's thread soon.
  void PostCompletion(core::Completion* done, int32_t res);
  // The worker that runs this loop's blocking file operations, in submission order.
  FileWorker* file_worker() { return file_worker_.get(); }

  void Run() override;
  void WakeSoon() override { wake_soon_ = true; }
  void RunSoon(absl::AnyInvocable<void()> fn) override { soon_.push_back(std::move(fn)); }
  void Submit() override {}
  void PollOnce(int fd, unsigned poll_events, core::Completion* done) override;
  void CancelPoll(core::Completion* done) override;
  void WakeAtMonotonic(int64_t monotonic_ns, core::Completion* done) override;
  void AppendWrite(int fd, const char* data, size_t size, core::Completion* done) override;
  const char* engine_name() const override { return "epoll"; }
  std::string DescribeFeatures() const override;

 private:
  class WakeWatch;
  class DoneWatch;
  class TimerWatch;
  struct PollEntry;
  EpollLoop() = default;
  int WaitTimeoutMs();
  void RunSoonCalls();
  void FirePreciseTimers();
  void ArmTimerFd();

  int epoll_fd_ = -1;
  int done_fd_ = -1;   // eventfd: PostCompletion() results are waiting
  int timer_fd_ = -1;  // WakeAtMonotonic's earliest deadline
  bool wake_soon_ = false;
  std::vector<absl::AnyInvocable<void()>> soon_;
  std::unique_ptr<WakeWatch> wake_watch_;
  std::unique_ptr<DoneWatch> done_watch_;
  std::unique_ptr<TimerWatch> timer_watch_;
  absl::Mutex done_mutex_;
  std::vector<std::pair<core::Completion*, int32_t>> done_ ABSL_GUARDED_BY(done_mutex_);
  std::vector<std::pair<core::Completion*, int32_t>> done_taken_;
  // PollOnce registrations by their Completion.
  absl::flat_hash_map<core::Completion*, std::unique_ptr<PollEntry>> polls_;
  // WakeAtMonotonic deadlines, earliest first.
  using Precise = std::pair<int64_t, core::Completion*>;
  std::priority_queue<Precise, std::vector<Precise>, std::greater<Precise>> precise_;
  std::unique_ptr<FileWorker> file_worker_;
};

}  // namespace tern::engine::epoll
