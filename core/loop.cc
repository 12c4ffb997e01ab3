// The engine-neutral part of core/loop.h: the wake eventfd, the mailbox, iteration hooks
// and timers. Each engine (engine/uring/, engine/epoll/) adds the wait and the I/O.
#include "core/loop.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace tern::core {

absl::Status Loop::InitWake() {
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) return absl::InternalError(absl::StrCat("eventfd: ", strerror(errno)));
  {
    absl::MutexLock lock(&mailbox_->mutex_);
    mailbox_->wake_fd_ = wake_fd_;
  }
  now_ = absl::Now();
  timers_.Advance(now_);
  return absl::OkStatus();
}

bool Mailbox::Post(absl::AnyInvocable<void()> fn) {
  absl::MutexLock lock(&mutex_);
  if (wake_fd_ < 0) return false;
  posted_.push_back(std::move(fn));
  uint64_t one = 1;
  ssize_t n = ::write(wake_fd_, &one, sizeof(one));
  (void)n;  // EAGAIN: the counter is already non-zero, the loop wakes anyway
  return true;
}

Loop::~Loop() {
  std::vector<absl::AnyInvocable<void()>> dropped;
  {
    absl::MutexLock lock(&mailbox_->mutex_);
    mailbox_->wake_fd_ = -1;
    dropped.swap(mailbox_->posted_);
  }
  if (wake_fd_ >= 0) close(wake_fd_);
}

void Loop::AddIterationHook(std::function<void()> hook) {
  iteration_hooks_.push_back(std::move(hook));
}

void Loop::SetWakeHandler(std::function<void()> handler) { wake_handler_ = std::move(handler); }

void Loop::Wake() {
  uint64_t one = 1;
  ssize_t n = ::write(wake_fd_, &one, sizeof(one));
  (void)n;  // EAGAIN means the counter is already non-zero: the loop will wake anyway.
}

void Loop::DeliverWake() {
  {
    absl::MutexLock lock(&mailbox_->mutex_);
    mail_.swap(mailbox_->posted_);
  }
  for (auto& fn : mail_) fn();
  mail_.clear();
  if (wake_handler_) wake_handler_();
}

void Loop::FinishIteration() {
  now_ = absl::Now();
  timers_.Advance(now_);
  for (auto& hook : iteration_hooks_) hook();
}

}  // namespace tern::core
