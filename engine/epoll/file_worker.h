// FileWorker: one thread that runs a loop's blocking file operations (write, pwritev,
// fdatasync, fallocate, open, pread, unlink, fsync of a directory) in submission order, so
// the shard thread never blocks on the disk. Each job returns an int32_t result (bytes or a
// negative errno) that reaches its Completion on the loop's thread through
// EpollLoop::PostCompletion. Jobs keep their order: a write submitted before a delete runs
// before it, as the spool expects of its storage.
//
//   worker->Submit([fd] { return fdatasync(fd) == 0 ? 0 : -errno; }, &done);
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <thread>

#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "core/loop.h"

namespace tern::engine::epoll {

class EpollLoop;

class FileWorker {
 public:
  explicit FileWorker(EpollLoop* loop);
  // Finishes the jobs already submitted (their results are dropped), then joins.
  ~FileWorker();
  FileWorker(const FileWorker&) = delete;
  FileWorker& operator=(const FileWorker&) = delete;

  // Runs `job` on the worker thread, then `done->OnComplete(result, 0)` on the loop's.
  void Submit(absl::AnyInvocable<int32_t()> job, core::Completion* done);

 private:
  struct Job {
    absl::AnyInvocable<int32_t()> run;
    core::Completion* done;
  };
  void Main();

  EpollLoop* loop_;
  absl::Mutex mutex_;
  std::deque<Job> jobs_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_;
};

}  // namespace tern::engine::epoll
