// AppendFile: buffered O_APPEND writes through the loop (behaviour: core/append_file.h).
#include "core/append_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/check.h"
#include "core/log.h"

namespace tern::core {

class AppendFile::WriteDone : public Completion {
 public:
  explicit WriteDone(AppendFile* file) : file_(file) {}
  void OnComplete(int32_t res, uint32_t) override { file_->OnWritten(res); }

 private:
  AppendFile* file_;
};

absl::StatusOr<std::unique_ptr<AppendFile>> AppendFile::Open(Loop* loop, const std::string& path,
                                                             mode_t mode, size_t buffer_bytes_max,
                                                             std::string what) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, mode);
  if (fd < 0) {
    return absl::UnavailableError(absl::StrCat("open ", what, ": ", std::strerror(errno)));
  }
  return std::unique_ptr<AppendFile>(new AppendFile(loop, fd, buffer_bytes_max, std::move(what)));
}

AppendFile::AppendFile(Loop* loop, int fd, size_t buffer_bytes_max, std::string what)
    : loop_(loop),
      fd_(fd),
      buffer_bytes_max_(buffer_bytes_max),
      what_(std::move(what)),
      write_done_(std::make_unique<WriteDone>(this)) {}

AppendFile::~AppendFile() {
  // A write still in flight would complete into freed memory.
  CHECK(!write_in_flight_);
  ::close(fd_);
  if (retired_fd_ >= 0) ::close(retired_fd_);
}

absl::Status AppendFile::Reopen(const std::string& path, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, mode);
  if (fd < 0) {
    return absl::UnavailableError(absl::StrCat("reopen ", what_, ": ", std::strerror(errno)));
  }
  if (write_in_flight_ && retired_fd_ < 0) {
    retired_fd_ = fd_;  // closed when its write completes
  } else {
    ::close(fd_);  // no write of its own in flight
  }
  fd_ = fd;
  return absl::OkStatus();
}

bool AppendFile::Append(absl::string_view bytes) {
  if (pending_.size() + bytes.size() > buffer_bytes_max_) {
    if (dropped_appends_++ % 10000 == 0) {
      TERN_LOG(kWarning, "%s is not keeping up: dropping lines (%d so far)", what_,
               dropped_appends_);
    }
    return false;
  }
  pending_.append(bytes.data(), bytes.size());
  return true;
}

void AppendFile::Flush() {
  if (write_in_flight_ || pending_.empty()) return;
  in_flight_.swap(pending_);
  pending_.clear();
  write_in_flight_ = true;
  loop_->AppendWrite(fd_, in_flight_.data(), in_flight_.size(), write_done_.get());
}

void AppendFile::OnWritten(int32_t res) {
  CHECK(write_in_flight_);
  write_in_flight_ = false;
  if (retired_fd_ >= 0) {
    ::close(retired_fd_);
    retired_fd_ = -1;
  }
  if (res < 0) {
    if (write_errors_++ % 1000 == 0) {
      TERN_LOG(kError, "%s: write: %s", what_, std::strerror(-res));
    }
  } else if (static_cast<size_t>(res) < in_flight_.size()) {
    // A short append: the rest goes first in the next write.
    pending_.insert(0, in_flight_, static_cast<size_t>(res), std::string::npos);
  }
  in_flight_.clear();
  if (on_written_) on_written_();
}

}  // namespace tern::core
