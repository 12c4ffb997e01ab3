// DataContentReader: end-of-data detection and unstuffing (sink_data_reader.h). Inside a
// line the reader jumps from LF to LF with memchr and extends one run of content; a run is
// cut only where a stuffing dot or the terminator has to be left out.
#include "tools/tern_bench/sink_data_reader.h"

#include <cstring>

#include "core/check.h"

namespace tern::tools::tern_bench {

void DataContentReader::Emit(absl::string_view run, ContentSink sink) {
  if (run.empty()) return;
  content_bytes_ += run.size();
  sink(run);
}

size_t DataContentReader::Consume(absl::string_view in, ContentSink sink) {
  CHECK(state_ != State::kDone);
  const char* const data = in.data();
  const size_t size = in.size();
  size_t pos = 0;
  size_t run_start = 0;  // content from here to pos is not handed over yet
  while (pos < size) {
    switch (state_) {
      case State::kLineStart:
        if (data[pos] == '.') {
          Emit(in.substr(run_start, pos - run_start), sink);
          ++pos;
          run_start = pos;
          state_ = State::kDot;
        } else {
          state_ = State::kInLine;
        }
        break;
      case State::kInLine: {
        const void* lf = std::memchr(data + pos, '\n', size - pos);
        if (lf == nullptr) {
          pos = size;
          break;
        }
        const size_t at = static_cast<size_t>(static_cast<const char*>(lf) - data);
        // The byte before the LF, in this input or at the end of the previous one.
        const bool crlf = at > 0 ? data[at - 1] == '\r' : previous_byte_cr_;
        pos = at + 1;
        if (crlf) state_ = State::kLineStart;
        break;
      }
      case State::kDot:
        if (data[pos] == '\r') {
          ++pos;  // perhaps the terminator: hold the CR back
          run_start = pos;
          state_ = State::kDotCr;
        } else {
          state_ = State::kInLine;  // a stuffed line: its first byte starts the run
        }
        break;
      case State::kDotCr:
        if (data[pos] == '\n') {
          state_ = State::kDone;
          return pos + 1;
        }
        Emit("\r", sink);  // ".\rX": the CR was content after all
        state_ = State::kInLine;
        break;
      case State::kDone:
        CHECK(false);
    }
  }
  Emit(in.substr(run_start, size - run_start), sink);
  if (size > 0) previous_byte_cr_ = data[size - 1] == '\r';
  return size;
}

}  // namespace tern::tools::tern_bench
