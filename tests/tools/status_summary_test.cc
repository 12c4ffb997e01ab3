// Tests of tools/ternd/status_summary.h: destinations summed over shards (the latest error
// wins, each shard's row kept), failures grouped by destination and reply pattern.
#include "tools/ternd/status_summary.h"

#include "gtest/gtest.h"

namespace tern::tools::ternd {
namespace {

using Stats = delivery::DestinationStats;
using Failure = delivery::RecentFailure;

const absl::Time kT = absl::FromUnixSeconds(1796000000);

TEST(StatusSummary, OneRowPerDestinationSummedOverShards) {
  std::vector<ShardStatus> shards(2);
  shards[0].shard = 0;
  shards[1].shard = 1;
  Stats a0{.name = "a.test (MX)",
           .delivered = 3,
           .deferred = 1,
           .last_error = "old",
           .last_error_at = kT};
  a0.connections = 1;
  Stats a1{.name = "a.test (MX)",
           .delivered = 4,
           .last_error = "new",
           .last_error_at = kT + absl::Seconds(5)};
  a1.pending_jobs = 2;
  Stats b{.name = "b.test (MX)", .delivered = 1};
  shards[0].destinations = {a0, b};
  shards[1].destinations = {a1};
  std::vector<DestinationTotal> rows = SumDestinations(shards, 10);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].sum.name, "a.test (MX)");
  EXPECT_EQ(rows[0].sum.delivered, 7u);
  EXPECT_EQ(rows[0].sum.deferred, 1u);
  EXPECT_EQ(rows[0].sum.connections, 1u);
  EXPECT_EQ(rows[0].sum.pending_jobs, 2u);
  EXPECT_EQ(rows[0].sum.last_error, "new");
  ASSERT_EQ(rows[0].shards.size(), 2u);
  EXPECT_EQ(rows[0].shards[1].first, 1);
  EXPECT_EQ(rows[0].shards[1].second->delivered, 4u);
  EXPECT_EQ(rows[1].sum.delivered, 1u);
  EXPECT_EQ(SumDestinations(shards, 1).size(), 1u);
}

TEST(StatusSummary, IdenticalFailuresGroupWithCountAndLatest) {
  std::vector<ShardStatus> shards(2);
  shards[0].recent = {{.at = kT,
                       .queue_id = 1,
                       .recipient = "x@a.test",
                       .result = "deferred",
                       .reply = "451 4.7.1 <x@a.test> greylisted for 300 s",
                       .destination = "mx.a.test"},
                      {.at = kT + absl::Seconds(1),
                       .queue_id = 2,
                       .recipient = "y@b.test",
                       .result = "bounced",
                       .reply = "550 5.1.1 unknown",
                       .destination = "mx.b.test"}};
  shards[1].recent = {{.at = kT + absl::Seconds(9),
                       .queue_id = 3,
                       .recipient = "z@a.test",
                       .result = "deferred",
                       .reply = "451 4.7.1 <z@a.test> greylisted for 120 s",
                       .destination = "mx.a.test"},
                      // Same reply, other destination: its own group.
                      {.at = kT + absl::Seconds(2),
                       .queue_id = 4,
                       .recipient = "w@c.test",
                       .result = "deferred",
                       .reply = "451 4.7.1 <w@c.test> greylisted for 60 s",
                       .destination = "mx.c.test"}};
  std::vector<FailureGroup> groups = GroupFailures(shards, 10);
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[0].destination, "mx.a.test");
  EXPECT_EQ(groups[0].count, 2u);
  EXPECT_EQ(groups[0].pattern, "451 4.7.1 <address> greylisted for # s");
  EXPECT_EQ(groups[0].last_at, kT + absl::Seconds(9));
  EXPECT_EQ(groups[0].last_recipient, "z@a.test");
  EXPECT_EQ(groups[0].last_queue_id, 3u);
  EXPECT_EQ(groups[1].destination, "mx.c.test");
  EXPECT_EQ(groups[2].count, 1u);
  EXPECT_EQ(GroupFailures(shards, 2).size(), 2u);
}

}  // namespace
}  // namespace tern::tools::ternd
