// Implementation of engine/epoll/file_worker.h.
#include "engine/epoll/file_worker.h"

#include "engine/epoll/epoll_loop.h"

namespace tern::engine::epoll {

FileWorker::FileWorker(EpollLoop* loop) : loop_(loop), thread_([this] { Main(); }) {}

FileWorker::~FileWorker() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  thread_.join();
}

void FileWorker::Submit(absl::AnyInvocable<int32_t()> job, core::Completion* done) {
  absl::MutexLock lock(&mutex_);
  jobs_.push_back({std::move(job), done});
}

void FileWorker::Main() {
  while (true) {
    Job job;
    {
      absl::MutexLock lock(&mutex_);
      mutex_.Await(absl::Condition(
          +[](FileWorker* w) ABSL_EXCLUSIVE_LOCKS_REQUIRED(w->mutex_) {
            return w->stopping_ || !w->jobs_.empty();
          },
          this));
      if (jobs_.empty()) return;  // stopping, nothing left
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    const int32_t result = job.run();
    bool stopping;
    {
      absl::MutexLock lock(&mutex_);
      stopping = stopping_;
    }
    if (!stopping && job.done != nullptr) loop_->PostCompletion(job.done, result);
  }
}

}  // namespace tern::engine::epoll
