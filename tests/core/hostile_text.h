// Test support for "every JSON output is valid": random hostile byte strings (any byte, NUL,
// CR/LF, quotes, well-formed and truncated multi-byte characters, overlong forms,
// surrogates), what a strict JSON decoder must give back for them (core/json_writer.h:
// well-formed UTF-8 unchanged, every other byte as its Latin-1 reading), and a strict parse
// with nlohmann-json, which rejects invalid UTF-8, raw control characters and lone
// surrogate escapes.
//
//   std::mt19937_64 rng(seed);
//   const std::string reply = HostileText(rng, 300);
//   std::optional<nlohmann::json> line = ParseStrictJson(FormatDeliveryEvent(e));
//   EXPECT_EQ((*line)["reply"], Latin1Reading(reply));
#pragma once

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <optional>
#include <random>
#include <string>

#include "absl/strings/string_view.h"
#include "core/utf8.h"
#include "nlohmann/json.hpp"

namespace tern::core::testing {

// The UTF-8 encoding of `code_point` (no checks: tests give valid scalar values).
inline void AppendUtf8(uint32_t code_point, std::string* out) {
  if (code_point < 0x80) {
    out->push_back(static_cast<char>(code_point));
  } else if (code_point < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (code_point >> 6)));
    out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else if (code_point < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (code_point >> 12)));
    out->push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (code_point >> 18)));
    out->push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  }
}

// A random Unicode scalar value of 2, 3 or 4 UTF-8 bytes (no surrogates).
inline uint32_t RandomNonAsciiCodePoint(std::mt19937_64& rng) {
  switch (rng() % 3) {
    case 0:
      return 0x80 + rng() % (0x800 - 0x80);
    case 1: {
      uint32_t cp = 0x800 + rng() % (0x10000 - 0x800 - 0x800);
      return cp >= 0xD800 ? cp + 0x800 : cp;  // skip D800-DFFF
    }
    default:
      return 0x10000 + rng() % (0x110000 - 0x10000);
  }
}

// Up to `bytes_max` bytes built of random pieces; about half of all strings are invalid UTF-8.
inline std::string HostileText(std::mt19937_64& rng, size_t bytes_max) {
  static constexpr absl::string_view kOddPieces[] = {absl::string_view("\0", 1),
                                                     "\r",
                                                     "\n",
                                                     "\r\n",
                                                     "\"",
                                                     "\\",
                                                     "\x7f",
                                                     "\xc0\xaf",
                                                     "\xc1\xbf",
                                                     "\xe0\x80\xaf",
                                                     "\xe0\x9f\xbf",
                                                     "\xed\xa0\x80",
                                                     "\xed\xbf\xbf",
                                                     "\xf0\x80\x80\xaf",
                                                     "\xf4\x90\x80\x80",
                                                     "\xf5\x80\x80\x80",
                                                     "\xff",
                                                     "\xfe",
                                                     "\x80",
                                                     "\xbf",
                                                     "\xe2\x80\xa8",
                                                     "\xe2\x80\xa9",
                                                     "\xef\xbb\xbf",
                                                     "\xef\xbf\xbf",
                                                     "\\u0000"};
  const size_t target = rng() % (bytes_max + 1);
  std::string out;
  while (out.size() < target) {
    switch (rng() % 6) {
      case 0:  // any byte
        out.push_back(static_cast<char>(rng() % 256));
        break;
      case 1:  // printable ASCII
        out.push_back(static_cast<char>(0x20 + rng() % 95));
        break;
      case 2:  // a well-formed character
        AppendUtf8(RandomNonAsciiCodePoint(rng), &out);
        break;
      case 3: {  // a character cut short
        std::string c;
        AppendUtf8(RandomNonAsciiCodePoint(rng), &c);
        out.append(c, 0, 1 + rng() % (c.size() - 1));
        break;
      }
      default: {
        const absl::string_view piece = kOddPieces[rng() % std::size(kOddPieces)];
        out.append(piece.data(), piece.size());
      }
    }
  }
  out.resize(std::min(out.size(), bytes_max));
  return out;
}

// Every byte value once, in order.
inline std::string AllByteValues() {
  std::string out;
  for (int b = 0; b < 256; ++b) out.push_back(static_cast<char>(b));
  return out;
}

// What a JSON decoder gives back for a string the JSON writer wrote from `bytes`.
inline std::string Latin1Reading(absl::string_view bytes) {
  std::string out;
  for (size_t i = 0; i < bytes.size();) {
    const size_t n = core::Utf8SequenceBytes(bytes, i);
    if (n > 0) {
      out.append(bytes.data() + i, n);
      i += n;
    } else {
      AppendUtf8(static_cast<unsigned char>(bytes[i]), &out);
      ++i;
    }
  }
  return out;
}

// The value in `text` (exactly one, nothing after it but whitespace), or nullopt when
// `text` is not strict JSON (RFC 8259, UTF-8 only).
inline std::optional<nlohmann::json> ParseStrictJson(absl::string_view text) {
  nlohmann::json value = nlohmann::json::parse(text.begin(), text.end(), nullptr,
                                               /*allow_exceptions=*/false);
  if (value.is_discarded()) return std::nullopt;
  return value;
}

}  // namespace tern::core::testing
