// Tests of ParseReportTime (tools/ternctl/report_command.h): --since/--until as a duration
// before now (the shared core::ParsePositiveDuration syntax, days and weeks included) or a time.
#include "gtest/gtest.h"
#include "tools/ternctl/report_command.h"

namespace tern::tools::ternctl {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'796'000'000);

TEST(ParseReportTime, DurationsBeforeNow) {
  const std::pair<const char*, absl::Duration> kCases[] = {{"90m", absl::Minutes(90)},
                                                           {"24h", absl::Hours(24)},
                                                           {"7d", absl::Hours(24 * 7)},
                                                           {"2w", absl::Hours(24 * 14)},
                                                           {"0s", absl::ZeroDuration()}};
  for (const auto& [text, ago] : kCases) {
    absl::StatusOr<absl::Time> t = ParseReportTime(text, kNow);
    ASSERT_TRUE(t.ok()) << text << ": " << t.status();
    EXPECT_EQ(*t, kNow - ago) << text;
  }
}

TEST(ParseReportTime, TimesAndDates) {
  absl::StatusOr<absl::Time> t = ParseReportTime("2026-12-06T08:00:00Z", kNow);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(absl::FormatTime("%Y-%m-%d %H:%M", *t, absl::UTCTimeZone()), "2026-12-06 08:00");
  t = ParseReportTime("2026-12-06", kNow);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(absl::FormatTime("%Y-%m-%d %H:%M", *t, absl::UTCTimeZone()), "2026-12-06 00:00");
}

TEST(ParseReportTime, RejectsGarbageAndNegative) {
  for (const char* bad : {"", "-1h", "-2d", "yesterday", "7x", "2026-13-01"}) {
    EXPECT_FALSE(ParseReportTime(bad, kNow).ok()) << bad;
  }
}

}  // namespace
}  // namespace tern::tools::ternctl
