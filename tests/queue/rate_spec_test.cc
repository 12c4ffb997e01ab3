// Tests of queue/rate_spec.h: the rate grammar, good and bad, and its round trip.
#include "queue/rate_spec.h"

#include "gtest/gtest.h"

namespace tern::queue {
namespace {

struct GoodCase {
  const char* text;
  uint64_t count;
  absl::Duration period;
  uint64_t burst;
};

TEST(RateSpec, ParsesEveryPeriodUnitAndBurst) {
  const GoodCase cases[] = {
      {"2000/s", 2000, absl::Seconds(1), 2000},
      {"1/sec", 1, absl::Seconds(1), 1},
      {"3000/min", 3000, absl::Minutes(1), 3000},
      {"10/5min", 10, absl::Minutes(5), 10},
      {"10/5m", 10, absl::Minutes(5), 10},
      {"50000/h", 50000, absl::Hours(1), 50000},
      {"7/hour", 7, absl::Hours(1), 7},
      {"500/day", 500, absl::Hours(24), 500},
      {"3/2day", 3, absl::Hours(48), 3},
      {"5/100ms", 5, absl::Milliseconds(100), 5},
      {"600/min,max_burst=1", 600, absl::Minutes(1), 1},
      {" 600 / min , max_burst = 20 ", 600, absl::Minutes(1), 20},
      {"1/366day", 1, absl::Hours(24 * 366), 1},
      {"1000000000/s", RateSpec::kCountMax, absl::Seconds(1), RateSpec::kCountMax},
      {"1/s,max_burst=1000000000", 1, absl::Seconds(1), RateSpec::kCountMax},
  };
  for (const GoodCase& c : cases) {
    auto spec = RateSpec::Parse(c.text);
    ASSERT_TRUE(spec.ok()) << c.text << ": " << spec.status();
    EXPECT_EQ(spec->count, c.count) << c.text;
    EXPECT_EQ(spec->period, c.period) << c.text;
    EXPECT_EQ(spec->burst, c.burst) << c.text;
  }
}

TEST(RateSpec, RejectsBadSpecsWithAReason) {
  const char* bad[] = {
      "",
      "/s",
      "100",
      "100/",
      "0/s",
      "-5/s",
      "+5/s",
      "1.5/s",
      "10/fortnight",
      "10/0min",
      "10/-1min",
      "10/s/s",
      "1000000001/s",            // above kCountMax
      "99999999999999999999/s",  // overflow
      "1/367day",                // period too long
      "1/9999999999day",         // period overflow
      "600/min,max_burst=0",
      "600/min,max_burst=",
      "600/min,max_burst",
      "600/min,",
      "600/min,burst=3",
      "600/min,max_burst=3x",
      "600/min,max_burst=1000000001",
      "600/min max_burst=3",
      "10/min trailing",
  };
  for (const char* text : bad) {
    auto spec = RateSpec::Parse(text);
    EXPECT_FALSE(spec.ok()) << "accepted '" << text << "'";
    if (!spec.ok()) {
      EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_NE(spec.status().message().find("bad rate"), absl::string_view::npos);
    }
  }
  EXPECT_FALSE(RateSpec::Parse(std::string(4096, '1') + "/s").ok());
}

TEST(RateSpec, ToStringReadsBack) {
  for (const char* text : {"2000/s", "3000/min", "10/5min", "500/day", "50000/h", "3/2day",
                           "600/min,max_burst=1", "5/100ms", "7/90s"}) {
    auto spec = RateSpec::Parse(text);
    ASSERT_TRUE(spec.ok()) << text;
    auto again = RateSpec::Parse(spec->ToString());
    ASSERT_TRUE(again.ok()) << spec->ToString();
    EXPECT_EQ(*again, *spec) << text;
  }
  EXPECT_EQ(RateSpec::Parse("600/min,max_burst=1")->ToString(), "600/min,max_burst=1");
  EXPECT_EQ(RateSpec::Parse("10/60s")->ToString(), "10/min");
  EXPECT_EQ(RateSpec::Parse("500/24h")->ToString(), "500/day");
}

TEST(RateSpec, EmissionIntervalIsPeriodOverCount) {
  EXPECT_EQ(RateSpec::Parse("600/min,max_burst=1")->emission_interval(), absl::Milliseconds(100));
  EXPECT_EQ(RateSpec::Parse("1000000000/s")->emission_interval(), absl::Microseconds(1));
}

}  // namespace
}  // namespace tern::queue
