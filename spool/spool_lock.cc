// SpoolLock: flock on <spool_dir>/ternd.lock (behaviour: spool/spool_lock.h).
#include "spool/spool_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "spool/errno_status.h"

namespace tern::spool {

absl::StatusOr<SpoolLock> SpoolLock::Acquire(const std::string& spool_dir) {
  const std::string path = absl::StrCat(spool_dir, "/", kSpoolLockFileName);
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return ErrnoStatus("open", path, errno);
  SpoolLock lock(fd);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    if (error != EWOULDBLOCK) return ErrnoStatus("flock", path, error);
    char holder[32] = {};
    const ssize_t n = ::pread(fd, holder, sizeof(holder) - 1, 0);
    const std::string pid(absl::StripAsciiWhitespace(n > 0 ? holder : ""));
    return absl::FailedPreconditionError(
        absl::StrCat("spool directory ", spool_dir, " is in use by another ternd",
                     pid.empty() ? std::string() : absl::StrCat(" (pid ", pid, ")"),
                     "; two processes on one spool would corrupt it (lock: ", path, ")"));
  }
  const std::string pid = absl::StrCat(::getpid(), "\n");
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    return ErrnoStatus("write", path, errno);
  }
  return lock;
}

SpoolLock& SpoolLock::operator=(SpoolLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

SpoolLock::~SpoolLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace tern::spool
