// Implementation of net/smtp/client_reply_parser.h: line framing with a bounded carry-over
// buffer, then per-line checks of the reply code, separator and enhanced status code.
#include "net/smtp/client_reply_parser.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/check.h"
#include "core/utf8.h"

namespace tern::net::smtp {
namespace {

// Reads 1 to 3 digits at the start of `text`; returns how many, or 0.
size_t ParseShortNumber(absl::string_view text, uint16_t* value) {
  size_t n = 0;
  uint16_t v = 0;
  while (n < text.size() && n < 3 && absl::ascii_isdigit(text[n])) {
    v = static_cast<uint16_t>(v * 10 + (text[n] - '0'));
    ++n;
  }
  *value = v;
  return n;
}

}  // namespace

std::string EnhancedCode::ToString() const {
  if (!present()) return "";
  return absl::StrCat(klass, ".", subject, ".", detail);
}

size_t ParseEnhancedCode(absl::string_view text, EnhancedCode* code) {
  if (text.size() < 5) return 0;  // "c.s.d"
  const char klass = text[0];
  if (klass != '2' && klass != '4' && klass != '5') return 0;
  if (text[1] != '.') return 0;
  size_t pos = 2;
  uint16_t subject = 0;
  size_t n = ParseShortNumber(text.substr(pos), &subject);
  if (n == 0) return 0;
  pos += n;
  if (pos >= text.size() || text[pos] != '.') return 0;
  ++pos;
  uint16_t detail = 0;
  n = ParseShortNumber(text.substr(pos), &detail);
  if (n == 0) return 0;
  pos += n;
  if (pos < text.size()) {
    if (text[pos] != ' ') return 0;
    ++pos;
  }
  code->klass = static_cast<uint8_t>(klass - '0');
  code->subject = subject;
  code->detail = detail;
  return pos;
}

absl::string_view ServerReply::line(size_t i) const {
  CHECK_LT(i, lines_.size());
  return absl::string_view(text_).substr(lines_[i].offset, lines_[i].size);
}

void ServerReply::AppendSummary(size_t bytes_max, std::string* out) const {
  const size_t start = out->size();
  absl::StrAppend(out, code_);
  if (enhanced_.present()) absl::StrAppend(out, " ", enhanced_.ToString());
  for (size_t i = 0; i < lines_.size() && out->size() - start < bytes_max; ++i) {
    if (!line(i).empty()) absl::StrAppend(out, " ", line(i));
  }
  // Cut on a character boundary: the summary ends up in JSON (delivery log, /message).
  out->resize(start + core::Utf8Prefix(absl::string_view(*out).substr(start), bytes_max).size());
}

void ServerReply::Clear() {
  code_ = 0;
  enhanced_ = EnhancedCode();
  text_.clear();
  lines_.clear();
}

ReplyParser::ReplyParser() {
  partial_.reserve(kReplyLineBytesMax);
  reply_.lines_.reserve(16);
}

void ReplyParser::Reset() {
  reply_.Clear();
  reply_done_ = false;
  partial_.clear();
  reply_bytes_ = 0;
  error_ = absl::string_view();
}

bool ReplyParser::Fail(absl::string_view why) {
  error_ = why;
  partial_.clear();
  reply_.Clear();
  return false;
}

ReplyParseResult ReplyParser::Parse(absl::string_view in, size_t* consumed) {
  *consumed = 0;
  if (!error_.empty()) return ReplyParseResult::kError;
  if (reply_done_) {
    reply_.Clear();
    reply_done_ = false;
    reply_bytes_ = 0;
  }
  size_t pos = 0;
  while (pos < in.size()) {
    const absl::string_view rest = in.substr(pos);
    const char* lf = static_cast<const char*>(std::memchr(rest.data(), '\n', rest.size()));
    if (lf == nullptr) {
      // With its LF still to come, the line would be longer than the limit.
      if (partial_.size() + rest.size() >= kReplyLineBytesMax) {
        *consumed = in.size();
        Fail("reply line too long");
        return ReplyParseResult::kError;
      }
      partial_.append(rest.data(), rest.size());
      *consumed = in.size();
      return ReplyParseResult::kNeedMore;
    }
    const size_t n = static_cast<size_t>(lf - rest.data());
    const size_t line_bytes = partial_.size() + n + 1;
    pos += n + 1;
    *consumed = pos;
    if (line_bytes > kReplyLineBytesMax) {
      Fail("reply line too long");
      return ReplyParseResult::kError;
    }
    reply_bytes_ += line_bytes;
    if (reply_bytes_ > kReplyBytesMax) {
      Fail("reply too long");
      return ReplyParseResult::kError;
    }
    absl::string_view line = rest.substr(0, n);
    if (!partial_.empty()) {
      partial_.append(line.data(), line.size());
      line = partial_;
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const size_t lines_before = reply_.lines_.size();
    if (!ProcessLine(line)) return ReplyParseResult::kError;
    partial_.clear();
    // ProcessLine adds a line; a final line marks the reply done.
    CHECK_EQ(reply_.lines_.size(), lines_before + 1);
    if (reply_done_) return ReplyParseResult::kReply;
  }
  return ReplyParseResult::kNeedMore;
}

bool ReplyParser::ProcessLine(absl::string_view line) {
  if (std::memchr(line.data(), '\0', line.size()) != nullptr) return Fail("NUL in reply");
  if (line.size() < 3) return Fail("reply line without a code");
  // RFC 5321 §4.2.1: first digit 2-5 (1yz is not used in SMTP), then two digits.
  if (line[0] < '2' || line[0] > '5' || !absl::ascii_isdigit(line[1]) ||
      !absl::ascii_isdigit(line[2])) {
    return Fail("bad reply code");
  }
  const int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  if (reply_.lines_.empty()) {
    reply_.code_ = code;
  } else if (code != reply_.code_) {
    return Fail("reply code changes within a multi-line reply");
  }
  if (reply_.lines_.size() >= kReplyLinesMax) return Fail("too many reply lines");
  bool final_line = true;
  absl::string_view text;
  if (line.size() > 3) {
    if (line[3] == '-') {
      final_line = false;
    } else if (line[3] != ' ') {
      return Fail("reply code not followed by space or hyphen");
    }
    text = line.substr(4);
  }
  EnhancedCode enhanced;
  const size_t enhanced_bytes = ParseEnhancedCode(text, &enhanced);
  if (enhanced_bytes > 0 && enhanced.klass == code / 100) {
    if (reply_.lines_.empty()) reply_.enhanced_ = enhanced;
    text.remove_prefix(enhanced_bytes);
  }
  const auto offset = static_cast<uint32_t>(reply_.text_.size());
  reply_.text_.append(text.data(), text.size());
  reply_.lines_.push_back({offset, static_cast<uint32_t>(text.size())});
  reply_done_ = final_line;
  return true;
}

}  // namespace tern::net::smtp
