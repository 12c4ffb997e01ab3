// Tests of net/connection_shares.h: fair shares while a shard waits, the whole limit alone,
// waits that end unless renewed.
#include "net/connection_shares.h"

#include "gtest/gtest.h"
#include "net/recent_wait_mark.h"

namespace tern::net {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);

TEST(ConnectionShares, AloneAShardMayUseTheWholeLimit) {
  ConnectionShares shares(20);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(shares.MayAdd(0, kNow));
    shares.Add(0);
  }
  EXPECT_FALSE(shares.MayAdd(0, kNow));
  EXPECT_FALSE(shares.ShouldYield(0, kNow));
  EXPECT_EQ(shares.held(), 20u);
}

TEST(ConnectionShares, WhileAnotherWaitsEachHoldsAtMostItsShare) {
  ConnectionShares shares(20);
  for (int i = 0; i < 20; ++i) shares.Add(0);
  shares.Wait(1, kNow);
  EXPECT_EQ(shares.FairShare(kNow, 1), 10u);
  EXPECT_TRUE(shares.ShouldYield(0, kNow));
  EXPECT_EQ(shares.Waiters(kNow), std::vector<uint32_t>({1}));
  EXPECT_EQ(shares.HoldersOtherThan(1), std::vector<uint32_t>({0}));
  // Shard 0 gives back down to its share; shard 1 takes up to its own.
  while (shares.ShouldYield(0, kNow)) shares.Remove(0);
  EXPECT_EQ(shares.held_by(0), 10u);
  EXPECT_FALSE(shares.MayAdd(0, kNow));  // 1 still waits: shard 0 is at its share
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(shares.MayAdd(1, kNow)) << i;
    shares.Add(1);
  }
  EXPECT_FALSE(shares.waiting(1, kNow));  // adding ended its wait
  EXPECT_FALSE(shares.MayAdd(1, kNow));   // the limit
  EXPECT_FALSE(shares.ShouldYield(0, kNow));
}

TEST(ConnectionShares, ConnectionsAlreadyLeavingAreNotYieldedTwice) {
  // Two connections, both shard 0's; shard 1 waits: one goes back. Until it is released,
  // the other one's transaction end must not give it back too.
  ConnectionShares shares(2);
  shares.Add(0);
  shares.Add(0);
  shares.Wait(1, kNow);
  EXPECT_TRUE(shares.ShouldYield(0, kNow, /*leaving=*/0));
  EXPECT_FALSE(shares.ShouldYield(0, kNow, /*leaving=*/1));
  EXPECT_FALSE(shares.ShouldYield(0, kNow, /*leaving=*/5));  // more than held: none left
  shares.Remove(0);                                          // the first one is released
  EXPECT_FALSE(shares.ShouldYield(0, kNow, /*leaving=*/0));
}

TEST(ConnectionShares, SharesRoundUpOverEveryShardThatWants) {
  ConnectionShares shares(20);
  shares.Add(0);
  shares.Add(1);
  shares.Wait(2, kNow);
  EXPECT_EQ(shares.FairShare(kNow, 2), 7u);  // 20 over 3, rounded up
  EXPECT_EQ(shares.FairShare(kNow, 3), 5u);  // a fourth shard asking
}

TEST(ConnectionShares, AWaitEndsUnlessRenewed) {
  ConnectionShares shares(4);
  for (int i = 0; i < 4; ++i) shares.Add(0);
  shares.Wait(1, kNow);
  EXPECT_TRUE(shares.ShouldYield(0, kNow + absl::Seconds(1)));
  // Not renewed: shard 1's work went elsewhere; shard 0 keeps what it has.
  const absl::Time later = kNow + ConnectionShares::kWaitFresh;
  EXPECT_FALSE(shares.waiting(1, later));
  EXPECT_FALSE(shares.ShouldYield(0, later));
  EXPECT_TRUE(shares.Waiters(later).empty());
  shares.Wait(1, later);  // renewed by asking again
  EXPECT_TRUE(shares.ShouldYield(0, later));
  shares.StopWaiting(1);
  EXPECT_FALSE(shares.ShouldYield(0, later));
}

TEST(ConnectionShares, OwnWaitDoesNotCountAsAnother) {
  ConnectionShares shares(2);
  shares.Add(0);
  shares.Add(0);
  shares.Wait(0, kNow);
  EXPECT_FALSE(shares.OthersWait(0, kNow));
  EXPECT_TRUE(shares.OthersWait(1, kNow));
  EXPECT_FALSE(shares.ShouldYield(0, kNow));
}

TEST(RecentWaitMark, RecentForAsLongAsAWaitLasts) {
  RecentWaitMark mark;
  EXPECT_FALSE(mark.Recent(kNow));  // nobody ever waited
  mark.Mark(kNow);
  EXPECT_TRUE(mark.Recent(kNow));
  EXPECT_TRUE(mark.Recent(kNow + ConnectionShares::kWaitFresh - absl::Milliseconds(1)));
  EXPECT_FALSE(mark.Recent(kNow + ConnectionShares::kWaitFresh));
  mark.Mark(kNow + absl::Seconds(10));  // a later wait renews it
  EXPECT_TRUE(mark.Recent(kNow + absl::Seconds(11)));
}

}  // namespace
}  // namespace tern::net
