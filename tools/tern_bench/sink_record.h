// The sink's --record file: one JSON object per line for every message that reached its end
// of data, whatever the reply, so that a test can check what arrived:
//
//   {"message_id":"run.0.7@tern-bench","sender":"a@example.com","recipients":["b@example.net"],
//    "bytes":4096,"checksum":"0123456789abcdef","expected":"0123456789abcdef","verified":true,
//    "reply":250}
//
//   message_id  the Message-ID header without angle brackets; null when absent
//   bytes       the unstuffed content (header section and body) as received
//   checksum    BodyChecksum (checksum.h) computed over the body, 16 hex digits
//   expected    the X-Tern-Bench-Checksum header's value, or null without one
//   verified    the header was there and the body matched it
//   reply       the code answered at end of data (250, 451, 550, 552), or null when the
//               connection was closed instead (--disconnect_rate=dot:...)
// A line is at most kRecordLineBytesMax: recipients that would not fit are left out and
// counted in "recipients_omitted" (present only then).
//
// RecordWriter appends the lines of one sink thread to the file through its ring: buffered,
// written with one O_APPEND write at a time (each write keeps its lines whole, so threads
// never interleave within a line), flushed when kFlushBytes are buffered and at least every
// kFlushInterval * 2, and at shutdown (the owner waits for idle()).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/append_file.h"
#include "core/loop.h"
#include "core/timer_wheel.h"
#include "tools/tern_bench/sink_session.h"

namespace tern::tools::tern_bench {

inline constexpr size_t kRecordLineBytesMax = 64 * 1024;

// Appends `outcome` as one JSON line (with its '\n') to `out`.
void AppendRecordLine(const MessageOutcome& outcome, std::string* out);

class RecordWriter : public core::Timer {
 public:
  // Buffered bytes at most while a write is in flight; beyond, lines are dropped and
  // counted (a slow disk must not stall the sink or grow its memory without bound).
  static constexpr size_t kBufferBytesMax = 16 << 20;
  static constexpr size_t kFlushBytes = 256 << 10;
  static constexpr absl::Duration kFlushInterval = absl::Milliseconds(100);

  // Opens `path` for appending (the caller truncated it once at start-up).
  static absl::StatusOr<std::unique_ptr<RecordWriter>> Open(core::Loop* loop,
                                                            const std::string& path);
  ~RecordWriter() override;
  RecordWriter(const RecordWriter&) = delete;
  RecordWriter& operator=(const RecordWriter&) = delete;

  void Append(const MessageOutcome& outcome);
  // Starts writing what is buffered, unless a write is in flight.
  void Flush();
  bool idle() const { return file_->idle(); }
  uint64_t dropped_lines() const { return file_->dropped_appends(); }

  void OnTimer() override { Flush(); }

 private:
  RecordWriter(core::Loop* loop, std::unique_ptr<core::AppendFile> file);
  // After a write or an append: flush a full buffer now, or a partial one within
  // kFlushInterval.
  void FlushOrArm();

  core::Loop* loop_;
  std::unique_ptr<core::AppendFile> file_;
  std::string line_;  // scratch for one line
};

}  // namespace tern::tools::tern_bench
