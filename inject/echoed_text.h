// Client text quoted back in an error answer (a JSON key, an address, a parser's "last
// read" token): bounded, so that a 5 MiB key cannot make a 5 MiB answer, and well-formed
// UTF-8, so that the answer stays valid JSON text.
//
//   Error(absl::StrCat(EchoedText(key, kEchoBytesMax), ": unknown field"));
#pragma once

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"
#include "core/utf8.h"

namespace tern::inject {

inline constexpr size_t kEchoBytesMax = 64;

// At most `bytes_max` bytes of `text` (cut on a character boundary, then "..."), each byte
// that starts no well-formed UTF-8 character replaced by '?'.
inline std::string EchoedText(absl::string_view text, size_t bytes_max = kEchoBytesMax) {
  const absl::string_view kept = core::Utf8Prefix(text, bytes_max);
  std::string out;
  out.reserve(kept.size() + 3);
  for (size_t i = 0; i < kept.size();) {
    const size_t n = core::Utf8SequenceBytes(kept, i);
    if (n == 0) {
      out.push_back('?');
      ++i;
    } else {
      out.append(kept.data() + i, n);
      i += n;
    }
  }
  if (kept.size() < text.size()) out += "...";
  return out;
}

}  // namespace tern::inject
