// DestinationStats::RollToMinute: `ternctl stats`'s results per destination
// in the last whole minute.
#include "delivery/destination_stats.h"

#include "gtest/gtest.h"

namespace tern::delivery {
namespace {

TEST(DestinationStatsTest, TheLastWholeMinuteCounts) {
  DestinationStats stats;
  stats.RollToMinute(100);
  stats.results_this_minute = 7;
  stats.RollToMinute(100);  // same minute: nothing moves
  EXPECT_EQ(stats.results_this_minute, 7u);
  EXPECT_EQ(stats.results_last_minute, 0u);
  stats.RollToMinute(101);
  EXPECT_EQ(stats.results_last_minute, 7u);
  EXPECT_EQ(stats.results_this_minute, 0u);
  stats.results_this_minute = 3;
  stats.RollToMinute(105);  // minutes without a result in between
  EXPECT_EQ(stats.results_last_minute, 0u);
  EXPECT_EQ(stats.minute, 105);
}

}  // namespace
}  // namespace tern::delivery
