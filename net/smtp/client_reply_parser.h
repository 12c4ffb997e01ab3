// ReplyParser: reads SMTP server replies (RFC 5321 §4.2) out of received bytes, for the
// outbound client. Replies are hostile input: every line, line count and total size is
// bounded, and anything malformed is an error result (the owner then drops the
// connection), never a crash or unbounded growth.
//
//   ReplyParser parser;
//   while (!bytes.empty()) {
//     size_t used = 0;
//     ReplyParseResult r = parser.Parse(bytes, &used);
//     bytes.remove_prefix(used);
//     if (r == ReplyParseResult::kNeedMore) break;            // all bytes consumed
//     if (r == ReplyParseResult::kError) return Drop(parser.error_text());
//     const ServerReply& reply = parser.reply();              // until the next Parse()
//     Handle(reply.code(), reply.enhanced(), reply.line(0));
//   }
//
// Input may be split anywhere: the same bytes in one call or byte by byte give the same
// replies. Accepted syntax:
//   - "ddd-text" continuation lines, then one "ddd text" or bare "ddd" final line, all with
//     the same code, 200..599 (RFC 5321 §4.2.1: the first digit is 2, 3, 4 or 5);
//   - CRLF ends a line; a bare LF is tolerated (some servers send it); NUL is an error;
//   - an RFC 3463 enhanced status code "c.s.d " at the start of a line's text, whose class
//     matches the reply code's first digit, is recognised and taken out of the text.
// Bounds (at the limit the result is kError and the parser stays in error until Reset()):
//   - a line is at most kReplyLineBytesMax including its CRLF (RFC 5321 §4.5.3.1.5);
//   - a reply is at most kReplyLinesMax lines and kReplyBytesMax bytes.
// Text is copied once into a reusable buffer (replies are small and must outlive the
// receive buffer they arrived in for multi-line replies split across reads).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace tern::net::smtp {

// RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets including the CRLF.
inline constexpr size_t kReplyLineBytesMax = 512;
// A multi-line reply longer than this is hostile (EHLO replies have a dozen lines).
inline constexpr size_t kReplyLinesMax = 100;
inline constexpr size_t kReplyBytesMax = 32 * 1024;
// Both bounds can bind: many short lines, or fewer long ones.
static_assert(kReplyLineBytesMax <= kReplyBytesMax);
static_assert(kReplyBytesMax < kReplyLinesMax * kReplyLineBytesMax);
static_assert(kReplyBytesMax < UINT32_MAX, "text spans are 32-bit");

// An RFC 3463 enhanced status code "class.subject.detail"; class 0 means absent.
struct EnhancedCode {
  uint8_t klass = 0;  // 2, 4 or 5
  uint16_t subject = 0;
  uint16_t detail = 0;

  bool present() const { return klass != 0; }
  // "5.1.1", or "" when absent.
  std::string ToString() const;
  friend bool operator==(const EnhancedCode&, const EnhancedCode&) = default;
};

// Parses "c.s.d" (subject and detail 1-3 digits, RFC 3463 §2) from the start of `text`,
// followed by a space or the end; returns the length consumed including the space, or 0.
size_t ParseEnhancedCode(absl::string_view text, EnhancedCode* code);

// One complete reply: code, enhanced code (from the first line) and its text lines
// without the code, separator, enhanced code or CRLF.
class ServerReply {
 public:
  int code() const { return code_; }
  const EnhancedCode& enhanced() const { return enhanced_; }
  size_t line_count() const { return lines_.size(); }
  // Text of line i (0 <= i < line_count()).
  absl::string_view line(size_t i) const;
  bool positive_completion() const { return code_ / 100 == 2; }    // 2xx
  bool positive_intermediate() const { return code_ / 100 == 3; }  // 3xx
  bool transient_failure() const { return code_ / 100 == 4; }      // 4xx
  bool permanent_failure() const { return code_ / 100 == 5; }      // 5xx

  // Appends "550 5.1.1 text line 1 text line 2" (lines joined by one space), at most
  // `bytes_max` bytes, for logs and results.
  void AppendSummary(size_t bytes_max, std::string* out) const;

 private:
  friend class ReplyParser;
  struct Span {
    uint32_t offset;
    uint32_t size;
  };
  void Clear();

  int code_ = 0;
  EnhancedCode enhanced_;
  std::string text_;  // all lines' text, back to back
  std::vector<Span> lines_;
};

enum class ReplyParseResult : uint8_t {
  kNeedMore,  // every byte was consumed and no reply is complete yet
  kReply,     // reply() holds a complete reply; bytes after it were not consumed
  kError,     // malformed or over a bound; see error_text()
};

class ReplyParser {
 public:
  ReplyParser();
  ReplyParser(const ReplyParser&) = delete;
  ReplyParser& operator=(const ReplyParser&) = delete;

  // Consumes bytes of `in` up to the end of the next complete reply; *consumed tells how
  // many. After kReply, the next call starts a new reply (and invalidates reply()).
  ReplyParseResult Parse(absl::string_view in, size_t* consumed);
  const ServerReply& reply() const { return reply_; }
  // Why the last Parse() returned kError (a static string).
  absl::string_view error_text() const { return error_; }
  // Forgets any partial reply and error.
  void Reset();

 private:
  // Processes one line without its terminator; false on error (error_ set).
  bool ProcessLine(absl::string_view line);
  bool Fail(absl::string_view why);

  ServerReply reply_;
  bool reply_done_ = false;  // reply_ is complete; cleared when the next one starts
  std::string partial_;      // a line split across Parse() calls, < kReplyLineBytesMax
  size_t reply_bytes_ = 0;   // raw bytes of the reply so far, with terminators
  absl::string_view error_;
};

}  // namespace tern::net::smtp
