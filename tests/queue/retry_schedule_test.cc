// Tests of queue/retry_schedule.h.
#include "queue/retry_schedule.h"

#include "gtest/gtest.h"

namespace tern::queue {
namespace {

const absl::Time kReceived = absl::FromUnixSeconds(1'700'000'000);

TEST(RetrySchedule, StepsThenTheLastRepeats) {
  auto schedule = RetrySchedule::Parse("1m,5m,15m,30m,1h,2h,4h", absl::Hours(120));
  ASSERT_TRUE(schedule.ok()) << schedule.status();
  EXPECT_EQ(schedule->DelayAfter(1), absl::Minutes(1));
  EXPECT_EQ(schedule->DelayAfter(2), absl::Minutes(5));
  EXPECT_EQ(schedule->DelayAfter(7), absl::Hours(4));
  EXPECT_EQ(schedule->DelayAfter(50), absl::Hours(4));
  EXPECT_EQ(schedule->DelayAfter(0), absl::Minutes(1));
}

TEST(RetrySchedule, SecondsAndDaysForTests) {
  auto schedule = RetrySchedule::Parse(" 1s, 2s ,500ms", absl::Seconds(10));
  ASSERT_TRUE(schedule.ok()) << schedule.status();
  EXPECT_EQ(schedule->steps().size(), 3u);
  EXPECT_EQ(schedule->DelayAfter(3), absl::Milliseconds(500));
  auto days = RetrySchedule::Parse("1d,2d", absl::Hours(120));
  ASSERT_TRUE(days.ok()) << days.status();
  EXPECT_EQ(days->DelayAfter(2), absl::Hours(48));
}

TEST(RetrySchedule, NextAttemptNeverPassesExpiry) {
  auto schedule = RetrySchedule::Parse("1h", absl::Minutes(90));
  ASSERT_TRUE(schedule.ok());
  EXPECT_EQ(schedule->NextAttempt(kReceived, 1, kReceived), kReceived + absl::Hours(1));
  EXPECT_EQ(schedule->NextAttempt(kReceived, 2, kReceived + absl::Hours(1)),
            kReceived + absl::Minutes(90));
  EXPECT_FALSE(schedule->Expired(kReceived, kReceived + absl::Minutes(89)));
  EXPECT_TRUE(schedule->Expired(kReceived, kReceived + absl::Minutes(90)));
}

TEST(RetrySchedule, RejectsBadInput) {
  for (const char* bad : {"", ",", "1x", "-5m", "0s", "5m,,abc", "1m,inf"}) {
    EXPECT_FALSE(RetrySchedule::Parse(bad, absl::Hours(1)).ok()) << bad;
  }
  EXPECT_FALSE(RetrySchedule::Parse("1m", absl::ZeroDuration()).ok());
  std::string many;
  for (int i = 0; i <= static_cast<int>(RetrySchedule::kStepsMax); ++i) many += "1m,";
  EXPECT_FALSE(RetrySchedule::Parse(many, absl::Hours(1)).ok());
  EXPECT_FALSE(RetrySchedule::Parse("0d", absl::Hours(1)).ok());
  EXPECT_FALSE(RetrySchedule::Parse("xd", absl::Hours(1)).ok());
}

}  // namespace
}  // namespace tern::queue
