// AppendFile: a file appended to through a loop (Loop::AppendWrite), for logs that must never hold
// up the loop or grow without bound (the delivery log, tern-bench's --record file). Bytes are
// buffered and written with one O_APPEND write at a time: the kernel keeps each write whole,
// so lines written by several threads' AppendFiles on one file never interleave. A short
// write (a full disk) puts the rest back in front; beyond `buffer_bytes_max` buffered
// bytes, appends are dropped and counted (logged now and then). No fsync.
//
//   ASSIGN_OR_RETURN(auto file, core::AppendFile::Open(loop, path, 0640, 8 << 20, "delivery log"));
//   file->Append(line);  // whole lines
//   file->Flush();       // when the owner wants (every iteration, a size, a timer...)
//   ... wait for file->idle() before destroying it.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/loop.h"

namespace tern::core {

class AppendFile {
 public:
  // Opens (creating with `mode`) `path` for appending; a blocking open, for start-up.
  // `what` names the file in log lines ("delivery log /var/log/x.jsonl").
  static absl::StatusOr<std::unique_ptr<AppendFile>> Open(Loop* loop, const std::string& path,
                                                          mode_t mode, size_t buffer_bytes_max,
                                                          std::string what);
  // CHECKs that no write is in flight (the owner waits for idle()).
  ~AppendFile();
  AppendFile(const AppendFile&) = delete;
  AppendFile& operator=(const AppendFile&) = delete;

  // Buffers `bytes` (whole lines); false when the buffer is full and they were dropped.
  bool Append(absl::string_view bytes);
  // Starts writing what is buffered, unless a write is in flight.
  void Flush();
  // Opens `path` again (blocking) and appends there from now on: after logrotate renamed
  // the file, SIGHUP makes the owner reopen it. The write in flight finishes into the old
  // file, which is closed then. On error the old file stays in use.
  absl::Status Reopen(const std::string& path, mode_t mode);
  // Called on the loop after every write completes (to flush again or arm a timer).
  void set_on_written(std::function<void()> on_written) { on_written_ = std::move(on_written); }

  bool idle() const { return !write_in_flight_ && pending_.empty(); }
  size_t buffered() const { return pending_.size(); }
  uint64_t dropped_appends() const { return dropped_appends_; }
  uint64_t write_errors() const { return write_errors_; }

 private:
  class WriteDone;
  AppendFile(Loop* loop, int fd, size_t buffer_bytes_max, std::string what);
  void OnWritten(int32_t res);

  Loop* loop_;
  int fd_;
  int retired_fd_ = -1;  // replaced by Reopen() while its write was in flight
  size_t buffer_bytes_max_;
  std::string what_;
  std::string pending_;    // bytes not written yet
  std::string in_flight_;  // the bytes of the write in flight
  bool write_in_flight_ = false;
  uint64_t dropped_appends_ = 0;
  uint64_t write_errors_ = 0;
  std::unique_ptr<WriteDone> write_done_;
  std::function<void()> on_written_;
};

}  // namespace tern::core
