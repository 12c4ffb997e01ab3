// Implementation of core/utf8.h.
#include "core/utf8.h"

namespace tern::core {

bool IsValidUtf8(absl::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const size_t n = Utf8SequenceBytes(text, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

absl::string_view Utf8Prefix(absl::string_view text, size_t bytes_max) {
  if (text.size() <= bytes_max) return text;
  size_t cut = bytes_max;
  // A character is at most 4 bytes: its lead byte is at most 3 bytes before the cut.
  for (size_t back = 1; back <= 3 && back <= cut; ++back) {
    const auto b = static_cast<unsigned char>(text[cut - back]);
    if ((b & 0xC0) == 0x80) continue;  // a continuation byte: the lead is further back
    // Measured on the whole text: a character that would be complete without the cut.
    if (Utf8SequenceBytes(text, cut - back) > back) cut -= back;
    break;
  }
  return text.substr(0, cut);
}

}  // namespace tern::core
