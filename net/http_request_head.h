// HttpRequestHead: the request line and header fields of one HTTP/1.x request (RFC 9112 §2-5),
// parsed from the bytes received so far, for the admin endpoint. The parser is incremental
// in the simplest way: call it again with all bytes received when it says kNeedMore.
//
//   HttpRequestHead head;
//   switch (ParseHttpRequestHead(received, &head)) {
//     case HttpHeadParse::kNeedMore: ...read more...
//     case HttpHeadParse::kError:    ...answer head.error_status ("400"...) and close...
//     case HttpHeadParse::kDone:     ...head.method, head.target, head.Find("host")...
//   }
//
// Limits: the head (request line to the blank line) is at most kHttpHeadBytesMax bytes
// (431 beyond; a request line alone beyond it is 414), at most kHttpHeaderFieldsMax fields
// (431). Lines end in CRLF or a bare LF (RFC 9112 §2.2 allows a server to accept LF).
// Obsolete line folding, a space before the colon, control characters in a value, a
// Transfer-Encoding (not supported: 501) and a bad or repeated different Content-Length are
// errors. Field names are matched case-insensitively; the views point into the bytes given.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace tern::net {

inline constexpr size_t kHttpHeadBytesMax = 8192;
inline constexpr size_t kHttpHeaderFieldsMax = 64;

enum class HttpHeadParse { kNeedMore, kDone, kError };

struct HttpRequestHead {
  absl::string_view method;                                             // "GET"
  absl::string_view target;                                             // "/queue?format=text"
  absl::string_view version;                                            // "HTTP/1.0" or "HTTP/1.1"
  std::vector<std::pair<absl::string_view, absl::string_view>> fields;  // values trimmed
  size_t head_bytes = 0;        // through the blank line: the body starts here
  uint64_t content_length = 0;  // 0 without Content-Length
  // On kError: the status to answer (400, 414, 431, 501, 505) and why, for the body.
  int error_status = 0;
  absl::string_view error;

  // The value of the first field named `name` (any case), or nullopt.
  std::optional<absl::string_view> Find(absl::string_view name) const;
  // How many fields are named `name`.
  size_t Count(absl::string_view name) const;
  // The target's path: up to '?'.
  absl::string_view path() const;
};

// Parses the head at the start of `bytes`. On kDone every field of `head` is set; on
// kNeedMore nothing of it may be used; on kError error_status and error say why.
HttpHeadParse ParseHttpRequestHead(absl::string_view bytes, HttpRequestHead* head);

}  // namespace tern::net
