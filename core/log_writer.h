// LogWriter: writes log lines to a file descriptor from its own thread, fed through a
// bounded buffer, so that a caller (a shard) never waits on a slow or full stderr pipe.
// When the buffer is full the line is dropped and counted; it never blocks the caller
// beyond a short mutex hold.
//
//   LogWriter writer(STDERR_FILENO, /*buffer_bytes_max=*/1 << 20);
//   if (!writer.Append("I ... message\n")) ...   // dropped: lines_dropped() counts it
//   writer.Flush(absl::Now() + absl::Seconds(1)); // before exit
//
// The destructor stops the thread after it wrote what was buffered: the descriptor must
// accept those writes eventually (core/log.cc's process-wide writer is never destroyed).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace tern::core {

class LogWriter {
 public:
  LogWriter(int fd, size_t buffer_bytes_max);
  ~LogWriter();
  LogWriter(const LogWriter&) = delete;
  LogWriter& operator=(const LogWriter&) = delete;

  // Queues `lines` (whole lines, each ending in '\n'; counted by their newlines). False,
  // and counted as dropped, when they do not fit in the buffer.
  bool Append(absl::string_view lines);
  // Waits until everything appended so far has been written (or failed to write), or until
  // `deadline`. True when it all went out.
  bool Flush(absl::Time deadline);
  uint64_t lines_dropped() const;

 private:
  void Run();

  const int fd_;
  const size_t buffer_bytes_max_;
  mutable absl::Mutex mutex_;
  std::string buffer_ ABSL_GUARDED_BY(mutex_);
  uint64_t appended_bytes_ ABSL_GUARDED_BY(mutex_) = 0;  // ever queued
  uint64_t done_bytes_ ABSL_GUARDED_BY(mutex_) = 0;      // ever written or given up on
  uint64_t lines_dropped_ ABSL_GUARDED_BY(mutex_) = 0;
  bool stop_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_;
};

}  // namespace tern::core
