// DataContentReader: the sink's reader of a DATA body (RFC 5321 §4.1.1.4). It finds the end
// of data and removes the dot-stuffing (§4.5.2) on the fly, handing the unstuffed content to
// a callback in runs that are views into the input: nothing is copied or stored.
//
//   DataContentReader reader;
//   size_t used = reader.Consume(input, [&](absl::string_view run) { verifier.Update(run); });
//   if (reader.done()) { ... input.substr(used) is the next command ... }
//
// Framing, whatever the split of the input:
//   - A line starts after CRLF only: a bare LF (or bare CR) does not start a new line, so
//     "\n.\r\n" never ends DATA; such bytes are content like any other.
//   - The end of data is ".\r\n" at the start of a line (or at the very start of the body);
//     the content ends with the CRLF before it.
//   - A '.' at the start of a line is removed; the rest of the line is content.
#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/functional/function_ref.h"
#include "absl/strings/string_view.h"

namespace tern::tools::tern_bench {

class DataContentReader {
 public:
  using ContentSink = absl::FunctionRef<void(absl::string_view)>;

  void Reset() { *this = DataContentReader(); }
  // Reads body bytes from `in` until the end of data, handing the unstuffed content to
  // `sink` (never an empty run). Returns the bytes used: all of `in` unless done().
  size_t Consume(absl::string_view in, ContentSink sink);
  bool done() const { return state_ == State::kDone; }
  // Unstuffed content handed to the sink so far.
  uint64_t content_bytes() const { return content_bytes_; }

 private:
  enum class State : uint8_t {
    kLineStart,  // after CRLF, or at the start of the body
    kInLine,     // inside a line
    kDot,        // after a '.' at the start of a line (removed)
    kDotCr,      // after ".\r" at the start of a line (the CR held back)
    kDone,
  };
  void Emit(absl::string_view run, ContentSink sink);

  State state_ = State::kLineStart;
  bool previous_byte_cr_ = false;  // the last byte of the previous input was a CR
  uint64_t content_bytes_ = 0;
};

}  // namespace tern::tools::tern_bench
