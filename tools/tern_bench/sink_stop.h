// StopRequest: how any thread of `tern-bench sink` asks the main thread to end the run
// (--exit_after reached). An eventfd that the main thread polls next to its signalfd, so the
// request wakes it at once.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<StopRequest> stop, StopRequest::Create());
//   stop->Request();                      // any thread, any number of times
//   poll({stop->fd(), POLLIN}, ...);      // main thread; then stop->requested()
#pragma once

#include <atomic>
#include <memory>

#include "absl/status/statusor.h"

namespace tern::tools::tern_bench {

class StopRequest {
 public:
  static absl::StatusOr<std::unique_ptr<StopRequest>> Create();
  ~StopRequest();
  StopRequest(const StopRequest&) = delete;
  StopRequest& operator=(const StopRequest&) = delete;

  void Request();
  bool requested() const { return requested_.load(std::memory_order_acquire); }
  // Readable once Request() was called.
  int fd() const { return fd_; }

 private:
  explicit StopRequest(int fd) : fd_(fd) {}
  const int fd_;
  std::atomic<bool> requested_{false};
};

}  // namespace tern::tools::tern_bench
