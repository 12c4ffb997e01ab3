// Implementation of core/log_writer.h.
#include "core/log_writer.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace tern::core {

LogWriter::LogWriter(int fd, size_t buffer_bytes_max)
    : fd_(fd), buffer_bytes_max_(buffer_bytes_max), thread_([this] { Run(); }) {}

LogWriter::~LogWriter() {
  {
    absl::MutexLock lock(&mutex_);
    stop_ = true;
  }
  thread_.join();
}

bool LogWriter::Append(absl::string_view lines) {
  absl::MutexLock lock(&mutex_);
  if (buffer_.size() + lines.size() > buffer_bytes_max_) {
    lines_dropped_ += std::max<size_t>(1, std::count(lines.begin(), lines.end(), '\n'));
    return false;
  }
  buffer_.append(lines.data(), lines.size());
  appended_bytes_ += lines.size();
  return true;
}

bool LogWriter::Flush(absl::Time deadline) {
  absl::MutexLock lock(&mutex_);
  const uint64_t target = appended_bytes_;
  auto written = [this, target]()
                     ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) { return done_bytes_ >= target; };
  return mutex_.AwaitWithDeadline(absl::Condition(&written), deadline);
}

uint64_t LogWriter::lines_dropped() const {
  absl::MutexLock lock(&mutex_);
  return lines_dropped_;
}

void LogWriter::Run() {
  std::string batch;
  for (;;) {
    {
      absl::MutexLock lock(&mutex_);
      auto ready = [this]()
                       ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) { return stop_ || !buffer_.empty(); };
      mutex_.Await(absl::Condition(&ready));
      if (buffer_.empty()) return;  // stopping, everything written
      batch.swap(buffer_);
      buffer_.clear();
    }
    // Blocks on a full pipe, here and only here: the callers keep appending (or dropping).
    size_t offset = 0;
    while (offset < batch.size()) {
      const ssize_t n = ::write(fd_, batch.data() + offset, batch.size() - offset);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // the descriptor is gone: nowhere to log this batch
      offset += static_cast<size_t>(n);
    }
    absl::MutexLock lock(&mutex_);
    done_bytes_ += batch.size();
    batch.clear();
    // Keeps the memory bounded after a burst.
    if (batch.capacity() > buffer_bytes_max_) std::string().swap(batch);
  }
}

}  // namespace tern::core
