// StopRequest: an eventfd that wakes the sink's main thread (sink_stop.h).
#include "tools/tern_bench/sink_stop.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace tern::tools::tern_bench {

absl::StatusOr<std::unique_ptr<StopRequest>> StopRequest::Create() {
  const int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) return absl::InternalError(absl::StrCat("eventfd: ", strerror(errno)));
  return std::unique_ptr<StopRequest>(new StopRequest(fd));
}

StopRequest::~StopRequest() { close(fd_); }

void StopRequest::Request() {
  if (requested_.exchange(true, std::memory_order_acq_rel)) return;
  const uint64_t one = 1;
  // EAGAIN only when the counter is already huge: the fd is readable anyway.
  [[maybe_unused]] const ssize_t n = write(fd_, &one, sizeof(one));
}

}  // namespace tern::tools::tern_bench
