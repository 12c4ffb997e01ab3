// Dot-stuffing (RFC 5321 §4.5.2) undone: the spool keeps a body as DATA sends it, a dot
// doubled at the start of every line that began with one; BDAT, DKIM's view and a person
// reading the message (`ternctl show --body`) need it without those dots.
//
//   ForEachUnstuffedRange(stored, [&](absl::string_view range) { out.append(range.data(),
//   range.size()); }); std::string message = Unstuffed(stored);
#pragma once

#include <cstring>
#include <string>

#include "absl/strings/string_view.h"

namespace tern::net::smtp {

// Calls f(range) for each run of the stored `body` between its stuffing dots: the dot that
// opens a line (at offset 0 or after CRLF) was added by RFC 5321 §4.5.2 and is not part of
// the message; a DATA receiver drops it, BDAT (RFC 3030 §2) carries the message as it is.
// The ranges point into `body`, in order; empty ones are skipped.
template <typename F>
void ForEachUnstuffedRange(absl::string_view body, F&& f) {
  size_t start = 0;  // of the range not yet passed to f
  size_t line = 0;   // start of the current line
  while (line < body.size()) {
    if (body[line] == '.') {
      if (line > start) f(body.substr(start, line - start));
      start = line + 1;
    }
    // The next line starts after the next CRLF (a bare LF does not end a line).
    size_t next = body.size();
    for (size_t from = line; from < body.size();) {
      const void* lf = std::memchr(body.data() + from, '\n', body.size() - from);
      if (lf == nullptr) break;
      const size_t at = static_cast<const char*>(lf) - body.data();
      if (at > line && body[at - 1] == '\r') {
        next = at + 1;
        break;
      }
      from = at + 1;
    }
    line = next;
  }
  if (start < body.size()) f(body.substr(start));
}

// The whole body unstuffed, as one string.
inline std::string Unstuffed(absl::string_view body) {
  std::string out;
  out.reserve(body.size());
  ForEachUnstuffedRange(
      body, [&out](absl::string_view range) { out.append(range.data(), range.size()); });
  return out;
}

}  // namespace tern::net::smtp
