// Implementation of net/http_request_head.h.
#include "net/http_request_head.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"

namespace tern::net {
namespace {

// RFC 9110 §5.6.2: tchar.
bool IsTokenChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         absl::string_view("!#$%&'*+-.^_`|~").find(c) != absl::string_view::npos;
}

bool IsToken(absl::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!IsTokenChar(c)) return false;
  }
  return true;
}

// RFC 9110 §5.5: field-value is visible characters, SP, HTAB and obs-text; no other controls.
bool IsFieldValue(absl::string_view value) {
  for (char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if ((byte < 0x20 && c != '\t') || byte == 0x7f) return false;
  }
  return true;
}

HttpHeadParse Fail(HttpRequestHead* head, int status, absl::string_view why) {
  head->error_status = status;
  head->error = why;
  return HttpHeadParse::kError;
}

// Takes the next line (without its CRLF or LF) off `text`.
absl::string_view NextLine(absl::string_view* text) {
  const size_t end = text->find('\n');
  absl::string_view line = text->substr(0, end);
  text->remove_prefix(end == absl::string_view::npos ? text->size() : end + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

HttpHeadParse ParseRequestLine(absl::string_view line, HttpRequestHead* head) {
  const size_t first = line.find(' ');
  const size_t second = first == absl::string_view::npos ? first : line.find(' ', first + 1);
  if (second == absl::string_view::npos || line.find(' ', second + 1) != absl::string_view::npos) {
    return Fail(head, 400, "the request line is not METHOD TARGET VERSION");
  }
  head->method = line.substr(0, first);
  head->target = line.substr(first + 1, second - first - 1);
  head->version = line.substr(second + 1);
  if (!IsToken(head->method)) return Fail(head, 400, "bad method");
  if (head->target.empty() || (head->target[0] != '/' && head->target != "*")) {
    return Fail(head, 400, "the target must be a path (origin-form)");
  }
  for (char c : head->target) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte >= 0x7f) return Fail(head, 400, "bad character in the target");
  }
  if (head->version != "HTTP/1.0" && head->version != "HTTP/1.1") {
    if (absl::StartsWith(head->version, "HTTP/")) {
      return Fail(head, 505, "only HTTP/1.0 and HTTP/1.1 are supported");
    }
    return Fail(head, 400, "bad HTTP version");
  }
  return HttpHeadParse::kDone;
}

HttpHeadParse ParseField(absl::string_view line, HttpRequestHead* head) {
  if (line[0] == ' ' || line[0] == '\t') {
    return Fail(head, 400, "obsolete line folding is not accepted (RFC 9112 section 5.2)");
  }
  const size_t colon = line.find(':');
  if (colon == absl::string_view::npos) return Fail(head, 400, "a header line without a colon");
  const absl::string_view name = line.substr(0, colon);
  // RFC 9112 §5.1: no whitespace between the name and the colon.
  if (!IsToken(name)) return Fail(head, 400, "bad header field name");
  const absl::string_view value = absl::StripAsciiWhitespace(line.substr(colon + 1));
  if (!IsFieldValue(value)) return Fail(head, 400, "control character in a header value");
  if (head->fields.size() == kHttpHeaderFieldsMax) {
    return Fail(head, 431, "too many header fields");
  }
  head->fields.emplace_back(name, value);
  return HttpHeadParse::kDone;
}

// Content-Length, Transfer-Encoding and Host: the fields that frame or route the request.
HttpHeadParse CheckFraming(HttpRequestHead* head) {
  if (head->Count("transfer-encoding") > 0) {
    return Fail(head, 501, "Transfer-Encoding is not supported: send Content-Length");
  }
  // RFC 9112 §3.2: a request with more than one Host field is answered 400.
  if (head->Count("host") > 1) return Fail(head, 400, "more than one Host header");
  std::optional<uint64_t> length;
  for (const auto& [name, value] : head->fields) {
    if (!absl::EqualsIgnoreCase(name, "content-length")) continue;
    uint64_t parsed = 0;
    const bool digits = !value.empty() && value.size() <= 18 &&
                        value.find_first_not_of("0123456789") == absl::string_view::npos;
    if (!digits || !absl::SimpleAtoi(value, &parsed)) return Fail(head, 400, "bad Content-Length");
    if (length.has_value() && *length != parsed) {
      return Fail(head, 400, "different Content-Length values");
    }
    length = parsed;
  }
  head->content_length = length.value_or(0);
  return HttpHeadParse::kDone;
}

}  // namespace

std::optional<absl::string_view> HttpRequestHead::Find(absl::string_view name) const {
  for (const auto& [field, value] : fields) {
    if (absl::EqualsIgnoreCase(field, name)) return value;
  }
  return std::nullopt;
}

size_t HttpRequestHead::Count(absl::string_view name) const {
  size_t count = 0;
  for (const auto& field : fields) count += absl::EqualsIgnoreCase(field.first, name) ? 1 : 0;
  return count;
}

absl::string_view HttpRequestHead::path() const { return target.substr(0, target.find('?')); }

HttpHeadParse ParseHttpRequestHead(absl::string_view bytes, HttpRequestHead* head) {
  *head = HttpRequestHead();
  const absl::string_view window = bytes.substr(0, kHttpHeadBytesMax);
  // The blank line ends the head: "\n\r\n" or "\n\n" (bare LF endings).
  size_t end = absl::string_view::npos;
  for (size_t at = window.find('\n'); at != absl::string_view::npos;
       at = window.find('\n', at + 1)) {
    if (at + 1 < window.size() && window[at + 1] == '\n') {
      end = at + 2;
      break;
    }
    if (at + 2 < window.size() && window[at + 1] == '\r' && window[at + 2] == '\n') {
      end = at + 3;
      break;
    }
  }
  if (end == absl::string_view::npos) {
    if (bytes.size() < kHttpHeadBytesMax) return HttpHeadParse::kNeedMore;
    if (window.find('\n') == absl::string_view::npos) {
      return Fail(head, 414, "the request line is too long");
    }
    return Fail(head, 431, "the request head is too large");
  }
  absl::string_view text = bytes.substr(0, end);
  if (HttpHeadParse line = ParseRequestLine(NextLine(&text), head); line != HttpHeadParse::kDone) {
    return line;
  }
  // Bounded by the head's size: each round takes one line off it.
  for (absl::string_view line = NextLine(&text); !line.empty(); line = NextLine(&text)) {
    if (HttpHeadParse field = ParseField(line, head); field != HttpHeadParse::kDone) return field;
  }
  if (HttpHeadParse framing = CheckFraming(head); framing != HttpHeadParse::kDone) return framing;
  head->head_bytes = end;
  return HttpHeadParse::kDone;
}

}  // namespace tern::net
