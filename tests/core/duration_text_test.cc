// Tests of core/duration_text.h.
#include "core/duration_text.h"

#include "gtest/gtest.h"

namespace tern::core {
namespace {

TEST(ParsePositiveDuration, AbseilSyntaxWholeDaysAndWeeks) {
  const std::pair<const char*, absl::Duration> kCases[] = {
      {"30s", absl::Seconds(30)},         {"5m", absl::Minutes(5)},    {"1h30m", absl::Minutes(90)},
      {"500ms", absl::Milliseconds(500)}, {"2d", absl::Hours(48)},     {" 5d ", absl::Hours(120)},
      {"3650d", absl::Hours(24 * 3650)},  {"2w", absl::Hours(24 * 14)}};
  for (const auto& [text, want] : kCases) {
    absl::StatusOr<absl::Duration> got = ParsePositiveDuration(text);
    ASSERT_TRUE(got.ok()) << text << ": " << got.status();
    EXPECT_EQ(*got, want) << text;
  }
}

TEST(ParsePositiveDuration, RejectsZeroNegativeInfiniteAndGarbage) {
  for (const char* bad : {"", "0s", "0d", "-5m", "-1d", "xd", "d", "1.5d", "3651d", "inf", "1x",
                          "5", "2d3h", "0w", "w", "522w"}) {
    EXPECT_FALSE(ParsePositiveDuration(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace tern::core
