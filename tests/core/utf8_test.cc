// Tests of core/utf8.h: the well-formed sequences of Unicode Table 3-7 and cutting text on
// a character boundary.
#include "core/utf8.h"

#include <random>
#include <string>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "tests/core/hostile_text.h"

namespace tern::core {
namespace {

struct SequenceCase {
  const char* bytes;
  size_t expected;
};

TEST(Utf8SequenceBytes, WellFormedAndIllFormedLeads) {
  static constexpr SequenceCase kCases[] = {
      {"a", 1},
      {"\x7f", 1},
      {"\xc3\xa9", 2},          // é
      {"\xdf\xbf", 2},          // U+07FF
      {"\xe0\xa0\x80", 3},      // U+0800, the smallest 3-byte form
      {"\xe2\x82\xac", 3},      // €
      {"\xed\x9f\xbf", 3},      // U+D7FF, just below the surrogates
      {"\xee\x80\x80", 3},      // U+E000, just above
      {"\xef\xbf\xbf", 3},      // U+FFFF
      {"\xf0\x90\x80\x80", 4},  // U+10000
      {"\xf0\x9f\x98\x80", 4},  // 😀
      {"\xf4\x8f\xbf\xbf", 4},  // U+10FFFF
      {"\x80", 0},              // a stray continuation byte
      {"\xbf", 0},
      {"\xc0\x80", 0},          // overlong NUL
      {"\xc1\xbf", 0},          // overlong
      {"\xc3", 0},              // truncated
      {"\xc3\x41", 0},          // not a continuation
      {"\xe0\x80\x80", 0},      // overlong 3-byte
      {"\xe0\x9f\xbf", 0},      // overlong 3-byte
      {"\xe2\x82", 0},          // truncated
      {"\xed\xa0\x80", 0},      // U+D800, a surrogate
      {"\xed\xbf\xbf", 0},      // U+DFFF
      {"\xf0\x80\x80\x80", 0},  // overlong 4-byte
      {"\xf0\x8f\xbf\xbf", 0},  // overlong 4-byte
      {"\xf0\x9f\x98", 0},      // truncated
      {"\xf4\x90\x80\x80", 0},  // U+110000
      {"\xf5\x80\x80\x80", 0},
      {"\xfe", 0},
      {"\xff", 0},
  };
  for (const SequenceCase& c : kCases) {
    EXPECT_EQ(Utf8SequenceBytes(c.bytes, 0), c.expected) << absl::CHexEscape(c.bytes);
    EXPECT_EQ(IsValidUtf8(c.bytes), c.expected == std::string(c.bytes).size())
        << absl::CHexEscape(c.bytes);
  }
}

TEST(Utf8SequenceBytes, EveryCodePointRoundTrips) {
  for (uint32_t cp = 0; cp < 0x110000; ++cp) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    std::string bytes;
    testing::AppendUtf8(cp, &bytes);
    ASSERT_EQ(Utf8SequenceBytes(bytes, 0), bytes.size()) << cp;
  }
}

TEST(Utf8Prefix, NeverSplitsACharacter) {
  const std::string text = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z";  // a é € 😀 z
  const size_t kExpected[] = {0, 1, 1, 3, 3, 3, 6, 6, 6, 6, 10, 11, 11};
  for (size_t bytes_max = 0; bytes_max < std::size(kExpected); ++bytes_max) {
    EXPECT_EQ(Utf8Prefix(text, bytes_max).size(), kExpected[bytes_max]) << bytes_max;
  }
}

TEST(Utf8Prefix, CutsInvalidBytesAnywhere) {
  // Stray continuations, a truncated character, a lone lead byte: nothing to keep whole.
  EXPECT_EQ(Utf8Prefix("ab\x80\x80\x80\x80", 4), "ab\x80\x80");
  EXPECT_EQ(Utf8Prefix("ab\xe2\x82", 3), "ab\xe2");
  EXPECT_EQ(Utf8Prefix("ab\xc3\xa9\x80", 4), "ab\xc3\xa9");
  EXPECT_EQ(Utf8Prefix("\xed\xa0\x80x", 2), "\xed\xa0");  // a surrogate is not a character
}

TEST(Utf8Prefix, RandomTextCutAnywhereKeepsWhatWasValid) {
  std::mt19937_64 rng(15);
  for (int i = 0; i < 5000; ++i) {
    const std::string text = testing::HostileText(rng, 64);
    const bool valid = IsValidUtf8(text);
    for (size_t bytes_max = 0; bytes_max <= text.size() + 1; ++bytes_max) {
      const absl::string_view cut = Utf8Prefix(text, bytes_max);
      ASSERT_EQ(cut.data(), text.data());
      ASSERT_LE(cut.size(), bytes_max);
      ASSERT_GE(cut.size() + 3, std::min(bytes_max, text.size()));
      if (valid) {
        ASSERT_TRUE(IsValidUtf8(cut)) << absl::CHexEscape(text) << " at " << bytes_max;
      }
      // No well-formed character of the text (as the JSON writer reads it) is split.
      for (size_t at = 0; at < cut.size();) {
        const size_t n = Utf8SequenceBytes(text, at);
        ASSERT_LE(at + std::max<size_t>(n, 1), cut.size()) << absl::CHexEscape(text);
        at += std::max<size_t>(n, 1);
      }
    }
  }
}

}  // namespace
}  // namespace tern::core
