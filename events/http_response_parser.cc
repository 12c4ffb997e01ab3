// The webhook receiver's HTTP/1.1 response, parsed incrementally (events/http_response_parser.h).
#include "events/http_response_parser.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace tern::events {
namespace {

bool HasToken(absl::string_view list, absl::string_view token) {
  for (absl::string_view item : absl::StrSplit(list, ',')) {
    if (absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(item), token)) return true;
  }
  return false;
}

}  // namespace

HttpResponseParser::Result HttpResponseParser::Fail(std::string why) {
  state_ = State::kError;
  error_ = std::move(why);
  keep_alive_ = false;
  return Result::kError;
}

bool HttpResponseParser::TakeLine(absl::string_view bytes, size_t* at, bool* too_long) {
  size_t newline = bytes.find('\n', *at);
  size_t end = newline == absl::string_view::npos ? bytes.size() : newline;
  size_t take = end - *at;
  if (line_.size() + take > kLineBytesMax) {
    *too_long = true;
    return false;
  }
  line_.append(bytes.data() + *at, take);
  *at = newline == absl::string_view::npos ? bytes.size() : newline + 1;
  if (newline == absl::string_view::npos) return false;
  if (!line_.empty() && line_.back() == '\r') line_.pop_back();
  return true;
}

bool HttpResponseParser::OnStatusLine(absl::string_view line) {
  // HTTP-version SP 3DIGIT SP [reason]   (RFC 9112 §4)
  if (line.size() < 12 || line[8] != ' ') return false;
  if (line.substr(0, 7) != "HTTP/1.") return false;
  if (line[7] != '0' && line[7] != '1') return false;
  http10_ = line[7] == '0';
  int code = 0;
  for (int i = 9; i < 12; ++i) {
    if (!absl::ascii_isdigit(line[i])) return false;
    code = code * 10 + (line[i] - '0');
  }
  if (code < 100 || (line.size() > 12 && line[12] != ' ')) return false;
  status_code_ = code;
  keep_alive_ = !http10_;
  return true;
}

bool HttpResponseParser::OnHeaderLine(absl::string_view line) {
  if (++header_fields_ > kHeaderFieldsMax) return false;
  size_t colon = line.find(':');
  if (colon == 0 || colon == absl::string_view::npos) return false;
  absl::string_view name = line.substr(0, colon);
  for (char c : name) {
    if (c == ' ' || c == '\t') return false;  // RFC 9112 §5.1: no space before the colon
  }
  absl::string_view value = absl::StripAsciiWhitespace(line.substr(colon + 1));
  if (absl::EqualsIgnoreCase(name, "Content-Length")) {
    uint64_t length = 0;
    bool digits = !value.empty() && std::all_of(value.begin(), value.end(),
                                                [](char c) { return absl::ascii_isdigit(c); });
    if (!digits || value.size() > 18 || !absl::SimpleAtoi(value, &length)) return false;
    if (saw_content_length_ && length != content_length_) return false;
    saw_content_length_ = true;
    content_length_ = length;
  } else if (absl::EqualsIgnoreCase(name, "Transfer-Encoding")) {
    if (!HasToken(value, "chunked")) return false;  // no other coding is ever asked for
    chunked_ = true;
  } else if (absl::EqualsIgnoreCase(name, "Connection")) {
    if (HasToken(value, "close")) close_ = true;
    if (HasToken(value, "keep-alive") && http10_) keep_alive_ = true;
  }
  return true;
}

// RFC 9112 §6.3: 1xx, 204 and 304 have no body; chunked wins over Content-Length (and then
// the connection must close); else Content-Length; else the body runs until close.
bool HttpResponseParser::OnHeadersDone() {
  if (close_) keep_alive_ = false;
  if (status_code_ < 200) {
    if (++interim_responses_ > kInterimResponsesMax) return false;
    int interim = interim_responses_;
    size_t consumed = consumed_;
    Reset();
    interim_responses_ = interim;
    consumed_ = consumed;
    return true;
  }
  if (status_code_ == 204 || status_code_ == 304) {
    state_ = State::kDone;
  } else if (chunked_) {
    if (saw_content_length_) keep_alive_ = false;
    state_ = State::kChunkSize;
  } else if (saw_content_length_) {
    if (content_length_ > kBodyBytesMax) return false;
    remaining_ = content_length_;
    state_ = remaining_ == 0 ? State::kDone : State::kBodyLength;
  } else {
    keep_alive_ = false;
    state_ = State::kBodyUntilClose;
  }
  return true;
}

bool HttpResponseParser::OnChunkSizeLine(absl::string_view line) {
  absl::string_view size = line.substr(0, line.find(';'));  // chunk extensions are ignored
  size = absl::StripAsciiWhitespace(size);
  if (size.empty() || size.size() > 8) return false;
  uint64_t bytes = 0;
  for (char c : size) {
    if (!absl::ascii_isxdigit(c)) return false;
    bytes = bytes * 16 + (absl::ascii_isdigit(c) ? c - '0' : absl::ascii_tolower(c) - 'a' + 10);
  }
  if (body_bytes_ + bytes > kBodyBytesMax) return false;
  remaining_ = bytes;
  state_ = bytes == 0 ? State::kTrailerLine : State::kChunkData;
  return true;
}

void HttpResponseParser::TakeBody(absl::string_view bytes) {
  size_t keep =
      std::min(bytes.size(), kBodyKeptBytesMax - std::min(kBodyKeptBytesMax, body_.size()));
  body_.append(bytes.data(), keep);
  body_bytes_ += bytes.size();
}

HttpResponseParser::Result HttpResponseParser::Feed(absl::string_view bytes) {
  size_t at = 0;
  while (true) {
    switch (state_) {
      case State::kDone:
        consumed_ += at;
        return Result::kDone;
      case State::kError:
        return Result::kError;
      default:
        break;
    }
    if (at == bytes.size()) {
      consumed_ += at;
      return Result::kNeedMore;
    }
    switch (state_) {
      case State::kStatusLine:
      case State::kHeaderLine:
      case State::kChunkSize:
      case State::kChunkDataEnd:
      case State::kTrailerLine: {
        bool too_long = false;
        size_t before = at;
        bool whole = TakeLine(bytes, &at, &too_long);
        if (too_long) return Fail("line too long");
        if (state_ == State::kStatusLine || state_ == State::kHeaderLine ||
            state_ == State::kTrailerLine) {
          header_bytes_ += at - before;
          if (header_bytes_ > kHeaderBytesMax) return Fail("header block too long");
        }
        if (!whole) break;
        std::string line = std::move(line_);
        line_.clear();
        if (state_ == State::kStatusLine) {
          if (!OnStatusLine(line)) return Fail("bad status line");
          state_ = State::kHeaderLine;
        } else if (state_ == State::kHeaderLine) {
          if (line.empty()) {
            if (!OnHeadersDone()) return Fail("bad framing or body too long");
          } else if (line.front() == ' ' || line.front() == '\t') {
            return Fail("obsolete line folding");
          } else if (!OnHeaderLine(line)) {
            return Fail("bad header field");
          }
        } else if (state_ == State::kChunkSize) {
          if (!OnChunkSizeLine(line)) return Fail("bad chunk size");
        } else if (state_ == State::kChunkDataEnd) {
          if (!line.empty()) return Fail("chunk data longer than its size");
          state_ = State::kChunkSize;
        } else {  // trailer fields are read and ignored; an empty line ends them
          if (line.empty()) {
            state_ = State::kDone;
          } else if (++header_fields_ > kHeaderFieldsMax) {
            return Fail("too many trailer fields");
          }
        }
        break;
      }
      case State::kBodyLength:
      case State::kChunkData: {
        size_t take = static_cast<size_t>(std::min<uint64_t>(remaining_, bytes.size() - at));
        TakeBody(bytes.substr(at, take));
        at += take;
        remaining_ -= take;
        if (remaining_ == 0) {
          state_ = state_ == State::kBodyLength ? State::kDone : State::kChunkDataEnd;
        }
        break;
      }
      case State::kBodyUntilClose: {
        size_t take = bytes.size() - at;
        if (body_bytes_ + take > kBodyBytesMax) return Fail("body too long");
        TakeBody(bytes.substr(at));
        at = bytes.size();
        break;
      }
      case State::kDone:
      case State::kError:
        break;
    }
  }
}

HttpResponseParser::Result HttpResponseParser::FinishAtClose() {
  if (state_ == State::kDone) return Result::kDone;
  if (state_ == State::kBodyUntilClose) {
    state_ = State::kDone;
    keep_alive_ = false;
    return Result::kDone;
  }
  if (state_ == State::kError) return Result::kError;
  return Fail("connection closed before the response ended");
}

}  // namespace tern::events
