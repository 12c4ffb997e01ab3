// CommandLineReader: frames SMTP command lines (RFC 5321 §2.3.8, §4.5.3.1.4) out of received
// bytes for a server-side session, bounded: a line is a view into the caller's bytes, and
// only a line split across two Consume() calls is copied (into at most kCommandLineBytesMax
// bytes). A line longer than that is skipped up to its LF and reported once, there, so the
// session answers it in sequence and stays in step with the client.
//
//   size_t used = 0;
//   switch (reader.Consume(bytes, &used)) {       // bytes.substr(used) is not read yet
//     case CommandLineResult::kNeedMore: break;    // every byte was taken
//     case CommandLineResult::kLine: Dispatch(reader.line()); break;  // without its LF
//     case CommandLineResult::kTooLong: Reply("500 5.5.2 Line too long"); break;
//   }
//
// The line keeps its CR, if any: whether a bare LF ends a command is the session's policy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace tern::net::smtp {

// RFC 5321 §4.5.3.1.4: a command line is at most 512 octets including the CRLF.
inline constexpr size_t kCommandLineBytesMax = 512;

enum class CommandLineResult : uint8_t { kNeedMore, kLine, kTooLong };

class CommandLineReader {
 public:
  // Reads `in` up to and including the next LF, or all of it; *used says how many bytes.
  CommandLineResult Consume(absl::string_view in, size_t* used);
  // After kLine: the line without its LF; valid until the next call and while the bytes
  // given to that Consume() are.
  absl::string_view line() const { return line_; }
  // Forgets a partial or skipped line (the session closed).
  void Reset();

 private:
  std::string partial_;           // the start of a line split across Consume() calls
  bool partial_is_line_ = false;  // partial_ holds the line last returned
  bool skipping_ = false;         // inside an overlong line, up to its LF
  absl::string_view line_;
};

}  // namespace tern::net::smtp
