// ThrottleCell (queue/throttle_cell.h): GCRA pace and burst, no state change on Check or a
// refused take, give-back, and state kept across rate changes. Fake time throughout.
#include "queue/throttle_cell.h"

#include "gtest/gtest.h"

namespace tern::queue {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);

RateSpec Rate(uint64_t count, absl::Duration period, uint64_t burst) {
  RateSpec r;
  r.count = count;
  r.period = period;
  r.burst = burst;
  return r;
}

TEST(ThrottleCell, FreshCellGrantsTheBurstThenPaces) {
  ThrottleCell cell;
  const RateSpec rate = Rate(10, absl::Seconds(1), 5);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(cell.TryTake(kStart, rate), absl::ZeroDuration()) << i;
  EXPECT_EQ(cell.TryTake(kStart, rate), absl::Milliseconds(100));
  EXPECT_EQ(cell.TryTake(kStart + absl::Milliseconds(60), rate), absl::Milliseconds(40));
  EXPECT_EQ(cell.TryTake(kStart + absl::Milliseconds(100), rate), absl::ZeroDuration());
  EXPECT_EQ(cell.TryTake(kStart + absl::Milliseconds(100), rate), absl::Milliseconds(100));
}

TEST(ThrottleCell, BurstOfOneSpacesEveryTake) {
  ThrottleCell cell;
  const RateSpec rate = Rate(600, absl::Minutes(1), 1);  // one every 100 ms
  EXPECT_EQ(cell.TryTake(kStart, rate), absl::ZeroDuration());
  EXPECT_EQ(cell.TryTake(kStart + absl::Milliseconds(99), rate), absl::Milliseconds(1));
  EXPECT_EQ(cell.TryTake(kStart + absl::Milliseconds(100), rate), absl::ZeroDuration());
}

TEST(ThrottleCell, SubMillisecondPrecision) {
  ThrottleCell cell;
  const RateSpec rate = Rate(4000, absl::Seconds(1), 1);  // 250 µs
  EXPECT_EQ(cell.TryTake(kStart, rate), absl::ZeroDuration());
  EXPECT_EQ(cell.TryTake(kStart + absl::Microseconds(100), rate), absl::Microseconds(150));
  EXPECT_EQ(cell.TryTake(kStart + absl::Microseconds(250), rate), absl::ZeroDuration());
}

TEST(ThrottleCell, CheckAndRefusedTakeChangeNothing) {
  ThrottleCell cell;
  const RateSpec rate = Rate(1, absl::Seconds(1), 1);
  EXPECT_EQ(cell.Check(kStart, rate), absl::ZeroDuration());
  EXPECT_EQ(cell.Check(kStart, rate), absl::ZeroDuration());
  EXPECT_EQ(cell.TryTake(kStart, rate), absl::ZeroDuration());
  EXPECT_EQ(cell.Check(kStart, rate), absl::Seconds(1));
  for (int i = 0; i < 10; ++i) EXPECT_EQ(cell.TryTake(kStart, rate), absl::Seconds(1));
  EXPECT_EQ(cell.TryTake(kStart + absl::Seconds(1), rate), absl::ZeroDuration());
}

TEST(ThrottleCell, GiveBackUndoesOneTake) {
  ThrottleCell cell;
  const RateSpec rate = Rate(2, absl::Seconds(1), 2);
  EXPECT_EQ(cell.TryTake(kStart, rate), absl::ZeroDuration());
  EXPECT_EQ(cell.TryTake(kStart, rate), absl::ZeroDuration());
  EXPECT_GT(cell.TryTake(kStart, rate), absl::ZeroDuration());
  cell.GiveBack(rate);
  EXPECT_EQ(cell.TryTake(kStart, rate), absl::ZeroDuration());
  EXPECT_GT(cell.TryTake(kStart, rate), absl::ZeroDuration());
}

TEST(ThrottleCell, LowerRateDoesNotReleaseAFreshBurst) {
  ThrottleCell cell;
  const RateSpec fast = Rate(100, absl::Seconds(1), 100);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(cell.TryTake(kStart, fast), absl::ZeroDuration());
  EXPECT_GT(cell.TryTake(kStart, fast), absl::ZeroDuration());
  const RateSpec slow = Rate(1, absl::Seconds(1), 1);
  EXPECT_EQ(cell.TryTake(kStart, slow), absl::Seconds(1));
  EXPECT_EQ(cell.Available(kStart, slow), 0u);
  // A slower rate with a large burst: the debt of the fast burst still counts.
  const RateSpec slow_burst = Rate(10, absl::Seconds(10), 10);  // 1 s interval, 10 s window
  int granted = 0;
  while (cell.TryTake(kStart, slow_burst) == absl::ZeroDuration()) ++granted;
  EXPECT_EQ(granted, 9);  // 1 s of the 10 s window was used by the fast burst
}

TEST(ThrottleCell, RaisedRateCutsTheOldDebtToTheNewWindow) {
  ThrottleCell cell;
  const RateSpec hourly = Rate(100, absl::Hours(1), 100);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(cell.TryTake(kStart, hourly), absl::ZeroDuration());
  // The bucket is empty for the next 36 s at the slow rate; at 750/min it is empty too, but
  // the next take waits one new interval, not the hour of old debt.
  const RateSpec faster = Rate(750, absl::Minutes(1), 750);
  EXPECT_EQ(cell.TryTake(kStart, faster), absl::Milliseconds(80));
  EXPECT_EQ(cell.TryTake(kStart + absl::Milliseconds(80), faster), absl::ZeroDuration());
  EXPECT_EQ(cell.TryTake(kStart + absl::Milliseconds(80), faster), absl::Milliseconds(80));
}

TEST(ThrottleCell, AvailableAndFull) {
  ThrottleCell cell;
  const RateSpec rate = Rate(10, absl::Seconds(1), 10);
  EXPECT_TRUE(cell.Full(kStart));
  EXPECT_EQ(cell.Available(kStart, rate), 10u);
  for (int i = 0; i < 4; ++i) ASSERT_EQ(cell.TryTake(kStart, rate), absl::ZeroDuration());
  EXPECT_EQ(cell.Available(kStart, rate), 6u);
  EXPECT_FALSE(cell.Full(kStart));
  EXPECT_EQ(cell.Available(kStart + absl::Milliseconds(200), rate), 8u);
  EXPECT_TRUE(cell.Full(kStart + absl::Milliseconds(400)));
}

TEST(ThrottleCell, HugeBurstDoesNotOverflow) {
  ThrottleCell cell;
  const RateSpec rate = Rate(1, absl::Hours(24 * 366), RateSpec::kCountMax);
  EXPECT_EQ(cell.TryTake(kStart, rate), absl::ZeroDuration());
  // The window is capped (ThrottleCell::kWindowMaxNs): the next take waits, for no longer
  // than one interval.
  const absl::Duration wait = cell.TryTake(kStart, rate);
  EXPECT_GT(wait, absl::ZeroDuration());
  EXPECT_LE(wait, rate.emission_interval());
}

}  // namespace
}  // namespace tern::queue
