// Implementation of engine/epoll/epoll_loop.h: epoll_wait with the timer wheel's deadline,
// the wake and completion eventfds, one-shot polls for c-ares, a timerfd for precise
// wake-ups.
#include "engine/epoll/epoll_loop.h"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/check.h"
#include "core/log.h"
#include "core/status_macros.h"
#include "engine/epoll/file_worker.h"

namespace tern::engine::epoll {
namespace {

constexpr int kEventBatch = 256;

int64_t MonotonicNowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

void DrainEventFd(int fd) {
  uint64_t value;
  while (::read(fd, &value, sizeof(value)) > 0) {
  }
}

uint32_t EpollEventsOf(unsigned poll_events) {
  return ((poll_events & POLLIN) ? EPOLLIN : 0u) | ((poll_events & POLLOUT) ? EPOLLOUT : 0u);
}

int32_t PollEventsOf(uint32_t epoll_events) {
  return ((epoll_events & EPOLLIN) ? POLLIN : 0) | ((epoll_events & EPOLLOUT) ? POLLOUT : 0) |
         ((epoll_events & EPOLLERR) ? POLLERR : 0) | ((epoll_events & EPOLLHUP) ? POLLHUP : 0);
}

}  // namespace

// Reads the wake eventfd: posted work, then the wake handler (core::Loop::DeliverWake).
class EpollLoop::WakeWatch : public FdHandler {
 public:
  explicit WakeWatch(EpollLoop* loop) : loop_(loop) {}
  void OnEvents(uint32_t) override {
    DrainEventFd(loop_->wake_fd());
    loop_->DeliverWake();
  }

 private:
  EpollLoop* loop_;
};

// Delivers PostCompletion() results.
class EpollLoop::DoneWatch : public FdHandler {
 public:
  explicit DoneWatch(EpollLoop* loop) : loop_(loop) {}
  void OnEvents(uint32_t) override {
    DrainEventFd(loop_->done_fd_);
    {
      absl::MutexLock lock(&loop_->done_mutex_);
      loop_->done_taken_.swap(loop_->done_);
    }
    for (auto& [done, res] : loop_->done_taken_) done->OnComplete(res, 0);
    loop_->done_taken_.clear();
  }

 private:
  EpollLoop* loop_;
};

class EpollLoop::TimerWatch : public FdHandler {
 public:
  explicit TimerWatch(EpollLoop* loop) : loop_(loop) {}
  void OnEvents(uint32_t) override {
    DrainEventFd(loop_->timer_fd_);
    loop_->FirePreciseTimers();
  }

 private:
  EpollLoop* loop_;
};

// One PollOnce(): registered until it fires or is cancelled; freed from a RunSoon call.
struct EpollLoop::PollEntry : public FdHandler {
  EpollLoop* loop = nullptr;
  int fd = -1;
  core::Completion* done = nullptr;
  bool finished = false;
  void OnEvents(uint32_t events) override {
    if (finished) return;
    finished = true;
    loop->Unwatch(fd);
    core::Completion* to = done;
    EpollLoop* owner = loop;
    auto it = owner->polls_.find(to);
    std::unique_ptr<PollEntry> self = std::move(it->second);
    owner->polls_.erase(it);
    owner->RunSoon([self = std::move(self)] {});  // freed after this iteration's batch
    to->OnComplete(PollEventsOf(events), 0);
  }
};

absl::StatusOr<std::unique_ptr<EpollLoop>> EpollLoop::Create() {
  std::unique_ptr<EpollLoop> loop(new EpollLoop());
  loop->epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (loop->epoll_fd_ < 0)
    return absl::InternalError(absl::StrCat("epoll_create1: ", strerror(errno)));
  RETURN_IF_ERROR(loop->InitWake());
  loop->done_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  loop->timer_fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  if (loop->done_fd_ < 0 || loop->timer_fd_ < 0) {
    return absl::InternalError(absl::StrCat("eventfd/timerfd: ", strerror(errno)));
  }
  loop->wake_watch_ = std::make_unique<WakeWatch>(loop.get());
  loop->done_watch_ = std::make_unique<DoneWatch>(loop.get());
  loop->timer_watch_ = std::make_unique<TimerWatch>(loop.get());
  RETURN_IF_ERROR(loop->Watch(loop->wake_fd(), EPOLLIN, loop->wake_watch_.get()));
  RETURN_IF_ERROR(loop->Watch(loop->done_fd_, EPOLLIN, loop->done_watch_.get()));
  RETURN_IF_ERROR(loop->Watch(loop->timer_fd_, EPOLLIN, loop->timer_watch_.get()));
  loop->file_worker_ = std::make_unique<FileWorker>(loop.get());
  return loop;
}

EpollLoop* EpollLoop::Of(core::Loop* loop) {
  auto* epoll = dynamic_cast<EpollLoop*>(loop);
  CHECK(epoll != nullptr);
  return epoll;
}

EpollLoop::~EpollLoop() {
  file_worker_.reset();  // joins: no PostCompletion() after this
  if (timer_fd_ >= 0) close(timer_fd_);
  if (done_fd_ >= 0) close(done_fd_);
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

std::string EpollLoop::DescribeFeatures() const {
  return "epoll level-triggered, 1 file worker thread";
}

absl::Status EpollLoop::Watch(int fd, uint32_t events, FdHandler* handler) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    return absl::InternalError(absl::StrCat("epoll_ctl add fd ", fd, ": ", strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status EpollLoop::Modify(int fd, uint32_t events, FdHandler* handler) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev) != 0) {
    return absl::InternalError(absl::StrCat("epoll_ctl mod fd ", fd, ": ", strerror(errno)));
  }
  return absl::OkStatus();
}

void EpollLoop::Unwatch(int fd) {
  epoll_event ev{};
  (void)epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, &ev);  // EBADF/ENOENT: already gone
}

void EpollLoop::PostCompletion(core::Completion* done, int32_t res) {
  {
    absl::MutexLock lock(&done_mutex_);
    done_.emplace_back(done, res);
  }
  uint64_t one = 1;
  ssize_t n = ::write(done_fd_, &one, sizeof(one));
  (void)n;  // EAGAIN: already signalled
}

void EpollLoop::PollOnce(int fd, unsigned poll_events, core::Completion* done) {
  CHECK(!polls_.contains(done));
  auto entry = std::make_unique<PollEntry>();
  entry->loop = this;
  entry->fd = fd;
  entry->done = done;
  PollEntry* raw = entry.get();
  polls_.emplace(done, std::move(entry));
  if (absl::Status s = Watch(fd, EpollEventsOf(poll_events), raw); !s.ok()) {
    // The fd is watched already (or bad): report the error from the loop.
    const int error = errno;
    raw->finished = true;
    std::unique_ptr<PollEntry> self = std::move(polls_[done]);
    polls_.erase(done);
    RunSoon([self = std::move(self), done, error] { done->OnComplete(-error, 0); });
  }
}

void EpollLoop::CancelPoll(core::Completion* done) {
  auto it = polls_.find(done);
  if (it == polls_.end()) return;  // fired already
  std::unique_ptr<PollEntry> entry = std::move(it->second);
  polls_.erase(it);
  entry->finished = true;
  Unwatch(entry->fd);
  RunSoon([entry = std::move(entry), done] { done->OnComplete(-ECANCELED, 0); });
}

void EpollLoop::WakeAtMonotonic(int64_t monotonic_ns, core::Completion* done) {
  precise_.emplace(monotonic_ns, done);
  ArmTimerFd();
}

void EpollLoop::ArmTimerFd() {
  if (precise_.empty()) return;
  itimerspec spec{};
  const int64_t when = std::max<int64_t>(precise_.top().first, 1);
  spec.it_value.tv_sec = when / 1000000000;
  spec.it_value.tv_nsec = when % 1000000000;
  timerfd_settime(timer_fd_, TFD_TIMER_ABSTIME, &spec, nullptr);
}

void EpollLoop::FirePreciseTimers() {
  const int64_t now = MonotonicNowNs();
  while (!precise_.empty() && precise_.top().first <= now) {
    core::Completion* done = precise_.top().second;
    precise_.pop();
    done->OnComplete(-ETIME, 0);
  }
  ArmTimerFd();
}

void EpollLoop::AppendWrite(int fd, const char* data, size_t size, core::Completion* done) {
  file_worker_->Submit(
      [fd, data, size]() -> int32_t {
        const ssize_t n = ::write(fd, data, size);
        return n >= 0 ? static_cast<int32_t>(n) : -errno;
      },
      done);
}

int EpollLoop::WaitTimeoutMs() {
  if (wake_soon_ || !soon_.empty()) return 0;
  const absl::Time deadline = timers().NextDeadline();
  if (deadline == absl::InfiniteFuture()) return -1;
  const absl::Duration wait = deadline - absl::Now();
  if (wait <= absl::ZeroDuration()) return 0;
  // Rounded up: a timer never fires early.
  return static_cast<int>(
      absl::ToInt64Milliseconds(wait + absl::Milliseconds(1) - absl::Nanoseconds(1)));
}

void EpollLoop::RunSoonCalls() {
  // Calls made from these calls wait for the next iteration.
  std::vector<absl::AnyInvocable<void()>> calls;
  calls.swap(soon_);
  for (auto& call : calls) call();
}

void EpollLoop::Run() {
  epoll_event events[kEventBatch];
  while (!stopping()) {
    const int n = epoll_wait(epoll_fd_, events, kEventBatch, WaitTimeoutMs());
    if (n < 0 && errno != EINTR) TERN_LOG(kError, "epoll_wait failed: %s", strerror(errno));
    wake_soon_ = false;
    set_now(absl::Now());
    for (int i = 0; i < n; ++i) {
      static_cast<FdHandler*>(events[i].data.ptr)->OnEvents(events[i].events);
    }
    RunSoonCalls();
    FinishIteration();
  }
}

}  // namespace tern::engine::epoll
