// BodyChecksum: any split of the input gives the same value; the algorithm is pinned.
#include "tools/tern_bench/checksum.h"

#include <string>

#include "absl/strings/string_view.h"
#include "gtest/gtest.h"

namespace tern::tools::tern_bench {
namespace {

std::string Sample(size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s.push_back(static_cast<char>('a' + (i * 7) % 26));
  return s;
}

TEST(BodyChecksumTest, EverySplitGivesTheSameValue) {
  const std::string input = Sample(53);
  const uint64_t whole = BodyChecksum::Of(input);
  for (size_t a = 0; a <= input.size(); ++a) {
    for (size_t b = a; b <= input.size(); b += 3) {
      BodyChecksum checksum;
      checksum.Update(absl::string_view(input).substr(0, a));
      checksum.Update(absl::string_view(input).substr(a, b - a));
      checksum.Update(absl::string_view(input).substr(b));
      ASSERT_EQ(checksum.Final(), whole) << a << " " << b;
    }
  }
}

TEST(BodyChecksumTest, ByteByByteEqualsWhole) {
  const std::string input = Sample(1000);
  BodyChecksum checksum;
  for (char c : input) checksum.Update(absl::string_view(&c, 1));
  EXPECT_EQ(checksum.Final(), BodyChecksum::Of(input));
}

TEST(BodyChecksumTest, LengthAndContentMatter) {
  EXPECT_NE(BodyChecksum::Of(""), BodyChecksum::Of(std::string(1, '\0')));
  EXPECT_NE(BodyChecksum::Of("abc"), BodyChecksum::Of("abd"));
  EXPECT_NE(BodyChecksum::Of("abcdefgh"), BodyChecksum::Of(std::string("abcdefgh\0", 9)));
  EXPECT_NE(BodyChecksum::Of("12345678abcdefgh"), BodyChecksum::Of("abcdefgh12345678"));
}

// Pinned values: the sink, the Python tests (tests/integration/tern_bench_format.py) and
// any other verifier must agree on them; changing the algorithm changes these.
TEST(BodyChecksumTest, PinnedValues) {
  EXPECT_EQ(BodyChecksum::Format(BodyChecksum::Of("")), "2e72b465600b6cb4");
  EXPECT_EQ(BodyChecksum::Format(BodyChecksum::Of("hello, world\r\n")), "9c2c00bdbefb8ab2");
}

TEST(BodyChecksumTest, FormatIsSixteenLowercaseHexDigits) {
  EXPECT_EQ(BodyChecksum::Format(0xABCull), "0000000000000abc");
}

}  // namespace
}  // namespace tern::tools::tern_bench
