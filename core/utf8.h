// UTF-8 well-formedness (RFC 3629, Unicode §3.9 Table 3-7) for text that comes from the
// network: the JSON writer escapes what is not well formed, and every cut of remote text
// (a reply, a Message-ID, a header section) is made on a character boundary, so that what
// was valid UTF-8 stays valid after it is shortened.
//
//   size_t n = Utf8SequenceBytes(text, i);  // 1..4, or 0: text[i] starts no valid character
//   std::string kept(Utf8Prefix(reply, 300));  // at most 300 bytes, no character split
//
// Not well formed: stray continuation bytes (80-BF), truncated sequences, overlong forms
// (C0, C1, E0 80-9F, F0 80-8F), surrogates (ED A0-BF) and code points above U+10FFFF
// (F4 90-BF, F5-FF).
#pragma once

#include <cstddef>

#include "absl/strings/string_view.h"

namespace tern::core {

// The bytes of the well-formed UTF-8 character that starts at text[at] (1 for ASCII, up to
// 4), or 0 when none starts there. `at` must be < text.size().
inline size_t Utf8SequenceBytes(absl::string_view text, size_t at) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data()) + at;
  const size_t available = text.size() - at;
  const unsigned lead = p[0];
  if (lead < 0x80) return 1;
  if (lead < 0xC2) return 0;  // a continuation byte, or C0/C1 (overlong)
  auto continuation = [](unsigned b) { return (b & 0xC0) == 0x80; };
  if (lead < 0xE0) return available >= 2 && continuation(p[1]) ? 2 : 0;
  if (lead < 0xF0) {
    if (available < 3) return 0;
    const unsigned low = lead == 0xE0 ? 0xA0 : 0x80;   // E0 80-9F: overlong
    const unsigned high = lead == 0xED ? 0x9F : 0xBF;  // ED A0-BF: surrogates
    return p[1] >= low && p[1] <= high && continuation(p[2]) ? 3 : 0;
  }
  if (lead < 0xF5) {
    if (available < 4) return 0;
    const unsigned low = lead == 0xF0 ? 0x90 : 0x80;   // F0 80-8F: overlong
    const unsigned high = lead == 0xF4 ? 0x8F : 0xBF;  // F4 90-BF: above U+10FFFF
    return p[1] >= low && p[1] <= high && continuation(p[2]) && continuation(p[3]) ? 4 : 0;
  }
  return 0;  // F5-FF: above U+10FFFF
}

// True when every byte of `text` belongs to a well-formed UTF-8 character.
bool IsValidUtf8(absl::string_view text);

// `text` cut to at most `bytes_max` bytes, shortened further (by up to 3 bytes) when the cut
// would split a well-formed multi-byte character. Bytes that are not well-formed UTF-8 are
// cut anywhere (they stay as invalid as they were). The result is a prefix of `text`.
absl::string_view Utf8Prefix(absl::string_view text, size_t bytes_max);

}  // namespace tern::core
