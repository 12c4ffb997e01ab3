// Implementation of net/smtp/body_reader.h. The common case (a line of ordinary bytes
// ending in CRLF) costs three memchr calls per line and no per-byte branching.
#include "net/smtp/body_reader.h"

#include <cstring>

#include "core/check.h"

namespace tern::net::smtp {

void BodyLineChecker::Reset() {
  state_ = LineState::kLineStart;
  line_bytes_ = 0;
  flaws_ = BodyFlaws();
}

void BodyLineChecker::EndLine() {
  if (line_bytes_ > kTextLineBytesMax) flaws_.line_too_long = true;
  line_bytes_ = 0;
  state_ = LineState::kLineStart;
}

size_t BodyLineChecker::ScanInLine(absl::string_view in, size_t pos) {
  DCHECK(state_ == LineState::kInLine);
  const char* start = in.data() + pos;
  const size_t avail = in.size() - pos;
  const char* lf = static_cast<const char*>(std::memchr(start, '\n', avail));
  const size_t run = lf == nullptr ? avail : static_cast<size_t>(lf - start);
  // [start, start + run) holds no LF.
  if (run > 0) {
    if (std::memchr(start, '\0', run) != nullptr) flaws_.nul = true;
    // A CR before the last byte of the run is followed by something other than LF.
    if (std::memchr(start, '\r', run - 1) != nullptr) flaws_.bare_cr_or_lf = true;
  }
  line_bytes_ += run;
  const bool ends_with_cr = run > 0 && start[run - 1] == '\r';
  if (lf == nullptr) {
    if (ends_with_cr) state_ = LineState::kCr;  // the next byte decides
    return in.size();
  }
  line_bytes_ += 1;
  if (ends_with_cr) {
    EndLine();
  } else {
    flaws_.bare_cr_or_lf = true;  // bare LF: not a line end, stay in the line
  }
  return pos + run + 1;
}

size_t BodyLineChecker::ScanAfterCr(absl::string_view in, size_t pos) {
  DCHECK(state_ == LineState::kCr || state_ == LineState::kDotCr);
  if (in[pos] == '\n') {
    line_bytes_ += 1;
    EndLine();
    return pos + 1;
  }
  flaws_.bare_cr_or_lf = true;
  state_ = LineState::kInLine;
  return pos;
}

void DataBodyReader::Reset() {
  BodyLineChecker::Reset();
  done_ = false;
  bytes_seen_ = 0;
}

template <typename OnLineStartDot>
size_t DataBodyReader::Scan(absl::string_view in, OnLineStartDot on_dot) {
  CHECK(!done_);
  size_t pos = 0;
  while (pos < in.size() && !done_) {
    switch (state_) {
      case LineState::kLineStart:
        if (in[pos] == '.') {
          on_dot(pos);
          state_ = LineState::kDot;
          line_bytes_ += 1;
          ++pos;
        } else {
          state_ = LineState::kInLine;
        }
        break;
      case LineState::kDot:
        if (in[pos] == '\r') {
          state_ = LineState::kDotCr;
          line_bytes_ += 1;
          ++pos;
        } else {
          state_ = LineState::kInLine;
        }
        break;
      case LineState::kDotCr:
        if (in[pos] == '\n') {
          done_ = true;
          ++pos;
        } else {
          pos = ScanAfterCr(in, pos);
        }
        break;
      case LineState::kCr:
        pos = ScanAfterCr(in, pos);
        break;
      case LineState::kInLine:
        pos = ScanInLine(in, pos);
        break;
    }
  }
  bytes_seen_ += pos;
  return pos;
}

size_t DataBodyReader::Consume(absl::string_view in, core::ByteBuffer* record) {
  const size_t pos = Scan(in, [](size_t) {});
  if (record != nullptr) {
    record->Append(in.substr(0, pos));
    if (done_) {
      // The terminator's bytes were appended, maybe over several calls: drop them.
      CHECK_GE(record->size(), kTerminatorBytes);
      record->Truncate(record->size() - kTerminatorBytes);
    }
  }
  return pos;
}

size_t DataBodyReader::ConsumeUnstuffed(absl::string_view in, ContentSink content) {
  if (in.empty()) return 0;
  // A CR held back after a line-opening dot, at the end of the previous input: content after
  // all unless this input completes the terminator.
  if (state_ == LineState::kDotCr && !in.empty() && in[0] != '\n') content("\r");
  size_t run_start = 0;  // content from here on is not handed over yet
  const size_t used = Scan(in, [&](size_t dot) {
    if (dot > run_start) content(in.substr(run_start, dot - run_start));
    run_start = dot + 1;  // the stuffing dot (or the terminator's) is not content
  });
  // Done: what follows the terminator's dot in `in` is the rest of the terminator.
  if (done_) return used;
  size_t run_end = used;
  if (state_ == LineState::kDotCr) {
    DCHECK(used > 0 && in[used - 1] == '\r');
    --run_end;  // ".\r" ends the input: perhaps the terminator
  }
  if (run_end > run_start) content(in.substr(run_start, run_end - run_start));
  return used;
}

void ChunkBodyReader::Reset() {
  BodyLineChecker::Reset();
  bytes_received_ = 0;
  bytes_stored_ = 0;
}

void ChunkBodyReader::Consume(absl::string_view in, core::ByteBuffer* record) {
  size_t pos = 0;
  size_t run_start = 0;  // start of the bytes not yet appended to the record
  while (pos < in.size()) {
    switch (state_) {
      case LineState::kLineStart:
        if (in[pos] == '.') {
          // Dot-stuffing (RFC 5321 §4.5.2): store ".." for a line starting with '.'.
          if (record != nullptr) {
            record->Append(in.substr(run_start, pos - run_start));
            record->Append(".");
          }
          run_start = pos;
          bytes_stored_ += 1;
        }
        state_ = LineState::kInLine;
        break;
      case LineState::kCr:
        pos = ScanAfterCr(in, pos);
        break;
      case LineState::kInLine:
        pos = ScanInLine(in, pos);
        break;
      case LineState::kDot:
      case LineState::kDotCr:
        CHECK(false);  // DATA states
    }
  }
  if (record != nullptr) record->Append(in.substr(run_start));
  bytes_received_ += in.size();
  bytes_stored_ += in.size();
}

void ChunkBodyReader::Finish(core::ByteBuffer* record) {
  if (state_ == LineState::kCr) {
    flaws_.bare_cr_or_lf = true;  // a CR that no LF followed
    return;
  }
  if (state_ == LineState::kInLine) {
    // RFC 3030 leaves a body without a final CRLF to the server: complete the last line.
    if (record != nullptr) record->Append("\r\n");
    bytes_stored_ += 2;
    line_bytes_ += 2;
    EndLine();
  }
}

}  // namespace tern::net::smtp
