// EventWindow and TriggerCounters (queue/event_window.h, queue/trigger_counters.h): a
// threshold fires at the Nth event within the period, forgets older events, starts again
// after firing; the keyed counters stay bounded.
#include "queue/event_window.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "queue/trigger_counters.h"

namespace tern::queue {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);

TEST(EventWindow, FiresAtTheNthEventWithinThePeriod) {
  EventWindow window(3, absl::Minutes(5));
  EXPECT_FALSE(window.Add(kStart));
  EXPECT_FALSE(window.Add(kStart + absl::Minutes(1)));
  EXPECT_EQ(window.Count(kStart + absl::Minutes(1)), 2u);
  EXPECT_TRUE(window.Add(kStart + absl::Minutes(4)));
  // Emptied on firing.
  EXPECT_EQ(window.Count(kStart + absl::Minutes(4)), 0u);
  EXPECT_FALSE(window.Add(kStart + absl::Minutes(4)));
}

TEST(EventWindow, EventsOlderThanThePeriodAreForgotten) {
  EventWindow window(3, absl::Minutes(5));
  EXPECT_FALSE(window.Add(kStart));
  EXPECT_FALSE(window.Add(kStart + absl::Minutes(1)));
  // 5 min + one bucket (10 s) after the first: it no longer counts.
  const absl::Time later = kStart + absl::Minutes(5) + absl::Seconds(10);
  EXPECT_EQ(window.Count(later), 1u);
  EXPECT_FALSE(window.Add(later));
  EXPECT_TRUE(window.Add(later));
  // A long quiet spell empties everything.
  EventWindow quiet(2, absl::Seconds(30));
  EXPECT_FALSE(quiet.Add(kStart));
  EXPECT_EQ(quiet.Count(kStart + absl::Hours(1)), 0u);
  EXPECT_FALSE(quiet.Add(kStart + absl::Hours(1)));
  EXPECT_TRUE(quiet.Add(kStart + absl::Hours(1) + absl::Seconds(29)));
}

TEST(EventWindow, ThresholdOfOneFiresEveryTime) {
  EventWindow window(1, absl::Seconds(1));
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(window.Add(kStart));
}

TEST(TriggerCounters, KeysCountSeparately) {
  TriggerCounters counters;
  const ReplyRule::Threshold threshold{2, absl::Minutes(1)};
  EXPECT_FALSE(counters.Count("rule|ip1|site", threshold, kStart));
  EXPECT_FALSE(counters.Count("rule|ip2|site", threshold, kStart));
  EXPECT_TRUE(counters.Count("rule|ip1|site", threshold, kStart));
  EXPECT_EQ(counters.size(), 2u);
  EXPECT_EQ(counters.Sweep(kStart), 1u);  // ip1's window fired and is empty
  EXPECT_EQ(counters.Sweep(kStart + absl::Minutes(2)), 1u);
  EXPECT_EQ(counters.size(), 0u);
}

TEST(TriggerCounters, BoundedWhenFull) {
  TriggerCounters counters;
  const ReplyRule::Threshold threshold{5, absl::Hours(1)};
  for (size_t i = 0; i < TriggerCounters::kEntriesMax; ++i) {
    ASSERT_FALSE(counters.Count(absl::StrCat("k", i), threshold, kStart));
  }
  EXPECT_FALSE(counters.Count("one too many", threshold, kStart));
  EXPECT_EQ(counters.dropped_events(), 1u);
  EXPECT_EQ(counters.size(), TriggerCounters::kEntriesMax);
  // Once the old windows are empty a new key finds room.
  EXPECT_FALSE(counters.Count("later", threshold, kStart + absl::Hours(2)));
  EXPECT_EQ(counters.size(), 1u);
}

}  // namespace
}  // namespace tern::queue
