// Lane: a next hop's ready connections are taken warmest first (LIFO), Forget takes a
// connection out of both sets, Unused says when the lane may go; LaneKey and
// DestinationName name the next hop. The connections are real (never connected).
#include "delivery/lane.h"

#include <memory>
#include <vector>

#include "gtest/gtest.h"
#include "tests/delivery/unconnected_connections.h"

namespace tern::delivery {
namespace {

class LaneTest : public testing::UnconnectedConnections<3> {};

TEST_F(LaneTest, TakeReadyGivesTheMostRecentlyIdleFirst) {
  Lane lane;
  EXPECT_EQ(lane.TakeReady(), nullptr);
  for (int i = 0; i < 3; ++i) {
    lane.connections.insert(c(i));
    lane.ready.push_back(c(i));
  }
  EXPECT_EQ(lane.TakeReady(), c(2));
  EXPECT_EQ(lane.TakeReady(), c(1));
  lane.ready.push_back(c(2));  // idle again: now the warmest
  EXPECT_EQ(lane.TakeReady(), c(2));
  EXPECT_EQ(lane.TakeReady(), c(0));
  EXPECT_EQ(lane.TakeReady(), nullptr);
  EXPECT_EQ(lane.connections.size(), 3u) << "taking a ready one keeps it the lane's";
}

TEST_F(LaneTest, ForgetTakesAConnectionOutOfReadyAndConnections) {
  Lane lane;
  for (int i = 0; i < 3; ++i) {
    lane.connections.insert(c(i));
    lane.ready.push_back(c(i));
  }
  lane.Forget(c(1));
  EXPECT_EQ(lane.connections.size(), 2u);
  EXPECT_FALSE(lane.connections.contains(c(1)));
  EXPECT_EQ(lane.ready, (std::vector<OutboundConnection*>{c(0), c(2)}));

  // A busy one (not ready) is forgotten too; forgetting twice is harmless.
  ASSERT_EQ(lane.TakeReady(), c(2));
  lane.Forget(c(2));
  lane.Forget(c(2));
  EXPECT_EQ(lane.connections.size(), 1u);
  EXPECT_EQ(lane.ready, (std::vector<OutboundConnection*>{c(0)}));
  EXPECT_EQ(lane.TakeReady(), c(0));
  EXPECT_EQ(lane.TakeReady(), nullptr);
}

TEST_F(LaneTest, UnusedOnlyWhenNothingWaitsRunsOrIsOwned) {
  Lane lane;
  EXPECT_TRUE(lane.Unused());

  lane.pending.push_back(WaitingJob{.queue_id = 7, .recipients = {0}});
  EXPECT_FALSE(lane.Unused()) << "a job waits";
  lane.pending.clear();

  lane.attempts = 1;
  EXPECT_FALSE(lane.Unused()) << "a connect attempt runs";
  lane.attempts = 0;

  lane.connections.insert(c(0));
  EXPECT_FALSE(lane.Unused()) << "a connection is open";
  lane.Forget(c(0));
  EXPECT_TRUE(lane.Unused());

  lane.closed_while_loading = 1;
  EXPECT_FALSE(lane.Unused()) << "a closed connection is still owned";
  lane.closed_while_loading = 0;
  EXPECT_TRUE(lane.Unused());
}

TEST(LaneNamesTest, KeyAndDestinationName) {
  Lane mx;
  mx.nexthop = Nexthop{.host = "example.com", .port = 25, .mx_lookup = true};
  EXPECT_EQ(LaneKey(mx.nexthop), "mx:example.com:25");
  EXPECT_EQ(mx.DestinationName(), "example.com (MX)");

  Lane mx_port;
  mx_port.nexthop = Nexthop{.host = "example.com", .port = 2525, .mx_lookup = true};
  EXPECT_EQ(LaneKey(mx_port.nexthop), "mx:example.com:2525");
  EXPECT_EQ(mx_port.DestinationName(), "example.com:2525 (MX)");

  Lane host;
  host.nexthop = Nexthop{.host = "127.0.0.1", .port = 2600, .mx_lookup = false};
  EXPECT_EQ(LaneKey(host.nexthop), "host:127.0.0.1:2600");
  EXPECT_EQ(host.DestinationName(), "[127.0.0.1]:2600");

  Lane v6;
  v6.nexthop = Nexthop{.host = "::1", .port = 25, .mx_lookup = false};
  EXPECT_EQ(LaneKey(v6.nexthop), "host:::1:25");
  EXPECT_EQ(v6.DestinationName(), "[::1]:25");

  // The same host by MX and directly are different lanes.
  EXPECT_NE(LaneKey(Nexthop{.host = "relay.test", .port = 25, .mx_lookup = true}),
            LaneKey(Nexthop{.host = "relay.test", .port = 25, .mx_lookup = false}));
}

}  // namespace
}  // namespace tern::delivery
