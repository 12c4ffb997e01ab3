// SpoolLock: one process per spool directory. Two ternd processes appending to the same
// segments would corrupt each other's records (and, with SO_REUSEPORT, a second ternd on the
// same port would also take half of the connections), so ternd takes an exclusive flock on
// <spool_dir>/ternd.lock before it touches the spool and holds it until it exits. The lock
// file also carries the holder's pid for the error message. The kernel drops the lock when
// the process dies, so a kill -9 never leaves a stale lock behind.
//
//   ASSIGN_OR_RETURN(spool::SpoolLock lock, spool::SpoolLock::Acquire(spool_dir));
//   ... run; the lock is released when `lock` is destroyed or the process exits.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace tern::spool {

inline constexpr char kSpoolLockFileName[] = "ternd.lock";

class SpoolLock {
 public:
  // FailedPrecondition naming the holder's pid when another process holds the lock; the
  // I/O error otherwise. `spool_dir` must exist.
  static absl::StatusOr<SpoolLock> Acquire(const std::string& spool_dir);

  SpoolLock(SpoolLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  SpoolLock& operator=(SpoolLock&& other) noexcept;
  SpoolLock(const SpoolLock&) = delete;
  SpoolLock& operator=(const SpoolLock&) = delete;
  ~SpoolLock();

 private:
  explicit SpoolLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace tern::spool
