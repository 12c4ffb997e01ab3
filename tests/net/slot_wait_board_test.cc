// Tests of net/slot_wait_board.h: a scope's shares across shards, who is told what, and the
// lock-free "nobody waits" answer.
#include "net/slot_wait_board.h"

#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace tern::net {
namespace {

using Reason = PoolWakeups::Reason;
using Event = std::pair<uint32_t, Reason>;

struct Told {
  explicit Told(PoolWakeups& wakeups) {
    for (uint32_t shard = 0; shard < 3; ++shard) {
      wakeups.Register(shard, [this, shard](Reason why) { log.push_back({shard, why}); });
    }
  }
  std::vector<Event> Take() { return std::exchange(log, {}); }
  std::vector<Event> log;
};

const char kSite[] = "site:mx1.example.net,mx2.example.net@";

TEST(SlotWaitBoard, NobodyWaitingNeverYieldsAndMayAlwaysAdd) {
  PoolWakeups wakeups;
  SlotWaitBoard board(&wakeups);
  for (int i = 0; i < 20; ++i) board.Added(kSite, 0);
  EXPECT_TRUE(board.MayAdd(kSite, 0));
  EXPECT_FALSE(board.ShouldYield(kSite, 0));
  EXPECT_FALSE(board.OthersWait(kSite, 1));
  for (int i = 0; i < 20; ++i) board.Removed(kSite, 0);
  EXPECT_EQ(board.scopes(), 0u);  // nothing left to remember
}

TEST(SlotWaitBoard, HeldByOthersCountsOnlyTheOtherShardsConnections) {
  SlotWaitBoard board(nullptr);
  EXPECT_FALSE(board.HeldByOthers(kSite, 0));  // nobody holds anything
  board.Added(kSite, 0);
  EXPECT_FALSE(board.HeldByOthers(kSite, 0));  // its own
  EXPECT_TRUE(board.HeldByOthers(kSite, 1));
  board.Added(kSite, 1);
  EXPECT_TRUE(board.HeldByOthers(kSite, 0));
  board.Removed(kSite, 1);
  EXPECT_FALSE(board.HeldByOthers(kSite, 0));
  board.Removed(kSite, 0);
  EXPECT_FALSE(board.HeldByOthers(kSite, 1));
  EXPECT_FALSE(board.HeldByOthers("site:other@", 1));
}

TEST(SlotWaitBoard, WaitsUntilTheShardAddsOne) {
  SlotWaitBoard board(nullptr);
  EXPECT_FALSE(board.Waits(kSite, 1));
  board.Added(kSite, 0);
  board.Wait(kSite, 1, 1);
  EXPECT_TRUE(board.Waits(kSite, 1));
  EXPECT_FALSE(board.Waits(kSite, 0));
  board.Removed(kSite, 0);
  board.Added(kSite, 1);  // it got one: it waits no longer
  EXPECT_FALSE(board.Waits(kSite, 1));
}

TEST(SlotWaitBoard, AWaiterTellsTheHoldersAndIsToldWhenOneCloses) {
  PoolWakeups wakeups;
  Told told(wakeups);
  SlotWaitBoard board(&wakeups);
  for (int i = 0; i < 20; ++i) board.Added(kSite, 0);
  board.Wait(kSite, 1, 20);
  EXPECT_EQ(told.Take(), std::vector<Event>({{0, Reason::kSomeoneWaits}}));
  board.Wait(kSite, 1, 20);  // a renewal tells nobody
  EXPECT_TRUE(told.Take().empty());
  EXPECT_TRUE(board.OthersWait(kSite, 0));
  EXPECT_TRUE(board.ShouldYield(kSite, 0));  // 20 of a fair 10
  EXPECT_FALSE(board.MayAdd(kSite, 0));
  EXPECT_TRUE(board.MayAdd(kSite, 1));
  board.Removed(kSite, 0);
  EXPECT_EQ(told.Take(), std::vector<Event>({{1, Reason::kSlotMayBeFree}}));
  board.Added(kSite, 1);  // shard 1 took it: it waits no longer
  EXPECT_FALSE(board.OthersWait(kSite, 0));
  EXPECT_FALSE(board.ShouldYield(kSite, 0));
  // Another scope is another story.
  EXPECT_FALSE(board.OthersWait("site:other@", 0));
}

TEST(SlotWaitBoard, AShardThatStopsWaitingFreesTheOthersFromTheirShares) {
  PoolWakeups wakeups;
  SlotWaitBoard board(&wakeups);
  for (int i = 0; i < 4; ++i) board.Added(kSite, 0);
  board.Wait(kSite, 2, 4);
  EXPECT_TRUE(board.ShouldYield(kSite, 0));
  board.StopWaiting(kSite, 2);
  EXPECT_FALSE(board.ShouldYield(kSite, 0));
  EXPECT_TRUE(board.MayAdd(kSite, 0));
}

}  // namespace
}  // namespace tern::net
