// Body readers: the byte-level framing of a message body, DATA (RFC 5321 §4.1.1.4) and BDAT
// (RFC 3030). They copy the body into the message record in bulk (one memcpy per input
// run, never byte by byte) and note its flaws; the session decides what to answer.
//
//   DataBodyReader reader;
//   size_t used = reader.Consume(input, &record);   // record == nullptr: check only
//   if (reader.done()) { ... input.substr(used) is the next command ... }
//
// A receiver that keeps no record (tern-bench's sink) takes the message content instead,
// unstuffed, in runs that are views into the input:
//
//   used = reader.ConsumeUnstuffed(input, [&](absl::string_view run) { digest.Update(run); });
//
// Framing rules, strict where strictness protects (SMTP smuggling):
//   - A line ends only with CRLF. A bare CR or bare LF anywhere is a flaw, and a bare LF
//     does not start a new line: "\n.\r\n", "\r.\r\n", "\n.\n" never end DATA.
//   - DATA ends only at "\r\n.\r\n", or ".\r\n" at the very start of the body. The body is
//     stored dot-stuffed, exactly as received, without the final ".\r\n".
//   - BDAT chunks are raw: a '.' at the start of a line is doubled on the way in, so the
//     stored body is dot-stuffed like DATA's; Finish() appends CRLF if the body does not
//     end with one.
//   - NUL is a flaw; a line longer than kTextLineBytesMax (with its CRLF) is a flaw.
#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/functional/function_ref.h"
#include "absl/strings/string_view.h"
#include "core/byte_buffer.h"

namespace tern::net::smtp {

// RFC 5321 §4.5.3.1.6: a text line is at most 1000 octets including the CRLF.
inline constexpr size_t kTextLineBytesMax = 1000;

struct BodyFlaws {
  bool bare_cr_or_lf = false;
  bool nul = false;
  bool line_too_long = false;
  bool any() const { return bare_cr_or_lf || nul || line_too_long; }
};

// Shared line-framing state of both readers.
class BodyLineChecker {
 public:
  const BodyFlaws& flaws() const { return flaws_; }

 protected:
  enum class LineState : uint8_t {
    kLineStart,  // after CRLF, or at the start of the body
    kInLine,     // inside a line; the previous byte is not a CR
    kCr,         // the previous byte is a CR that may start CRLF
    kDot,        // DATA only: a '.' at the start of a line
    kDotCr,      // DATA only: ".\r" at the start of a line
  };
  void Reset();
  // From kInLine: scans in[pos..] up to and including the next LF (or to the end) with
  // memchr, notes flaws, and returns the position after what it scanned.
  size_t ScanInLine(absl::string_view in, size_t pos);
  // In kCr: consumes the LF that completes CRLF, or notes the bare CR (consuming nothing).
  size_t ScanAfterCr(absl::string_view in, size_t pos);
  void EndLine();

  LineState state_ = LineState::kLineStart;
  size_t line_bytes_ = 0;
  BodyFlaws flaws_;
};

class DataBodyReader : public BodyLineChecker {
 public:
  // Length of the terminator ".\r\n" that is received but not stored.
  static constexpr size_t kTerminatorBytes = 3;

  void Reset();
  // Reads body bytes from `in` until the end of data; returns how many bytes it used (all
  // of `in` unless done()). Appends them to `record` when not null. Once done(), the bytes
  // after the terminator belong to the next command.
  size_t Consume(absl::string_view in, core::ByteBuffer* record);
  // The same framing (one reader takes one of the two calls for a whole body), handing the
  // message content to `content` instead: without the stuffing dots (RFC 5321 §4.5.2) and
  // the terminator, in runs that are views into `in` (or a literal "\r"), never empty. A
  // ".\r" at the end of `in` is held back until the next byte says whether it ends DATA.
  using ContentSink = absl::FunctionRef<void(absl::string_view)>;
  size_t ConsumeUnstuffed(absl::string_view in, ContentSink content);
  bool done() const { return done_; }
  // Bytes received so far, terminator included.
  uint64_t bytes_seen() const { return bytes_seen_; }
  // The stored body size once done().
  uint64_t body_bytes() const { return bytes_seen_ - kTerminatorBytes; }

 private:
  // The framing of both Consume calls: reads `in` up to the end of data (or all of it) and
  // returns the bytes used; on_dot(pos) hears of each '.' that opens a line, at in[pos].
  template <typename OnLineStartDot>
  size_t Scan(absl::string_view in, OnLineStartDot on_dot);

  bool done_ = false;
  uint64_t bytes_seen_ = 0;
};

class ChunkBodyReader : public BodyLineChecker {
 public:
  void Reset();
  // All of `in` is body (the caller counts the chunk size). Appends it dot-stuffed to
  // `record` when not null.
  void Consume(absl::string_view in, core::ByteBuffer* record);
  // After the LAST chunk: a body that does not end with CRLF gets one (a trailing bare CR is
  // a flaw instead).
  void Finish(core::ByteBuffer* record);
  // Bytes received in all chunks so far (without the stuffing).
  uint64_t bytes_received() const { return bytes_received_; }
  // Bytes appended to the record so far (with the stuffing and a final CRLF).
  uint64_t bytes_stored() const { return bytes_stored_; }

 private:
  uint64_t bytes_received_ = 0;
  uint64_t bytes_stored_ = 0;
};

}  // namespace tern::net::smtp
