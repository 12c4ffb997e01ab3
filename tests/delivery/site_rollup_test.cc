// SiteRollup (delivery/site_rollup.h): lanes of domains sharing a site lend each other their
// connections. Waiting siblings are served longest first and each once; lanes whose jobs
// left are skipped; only lanes with idle connections lend; a lane that leaves is forgotten.
// RollupGroup groups only MX lanes of a shared site, by source, port and TLS policy. The
// connections are real (never connected).
#include "delivery/site_rollup.h"

#include <memory>
#include <vector>

#include "gtest/gtest.h"
#include "tests/delivery/unconnected_connections.h"

namespace tern::delivery {
namespace {

Lane MxLane(const std::string& domain, const std::string& site_scope) {
  Lane lane;
  lane.nexthop = Nexthop{.host = domain, .port = 25, .mx_lookup = true};
  lane.domain = domain;
  lane.site_scope = site_scope;
  return lane;
}

class SiteRollupTest : public testing::UnconnectedConnections<1> {
 protected:
  void WithJob(Lane* lane) { lane->pending.emplace_back(); }

  SiteRollup rollup_;
};

TEST(RollupGroup, OnlyMxLanesOfASharedSiteBySourcePortAndTls) {
  Lane a = MxLane("a.example", "site:aspmx.l.google.com,alt1.aspmx.l.google.com");
  Lane b = MxLane("b.example", a.site_scope);
  EXPECT_FALSE(RollupGroup(a).empty());
  EXPECT_EQ(RollupGroup(a), RollupGroup(b));
  Lane other_source = MxLane("b.example", a.site_scope);
  other_source.source = "ip2";
  EXPECT_NE(RollupGroup(a), RollupGroup(other_source));
  Lane other_port = MxLane("b.example", a.site_scope);
  other_port.nexthop.port = 2525;
  EXPECT_NE(RollupGroup(a), RollupGroup(other_port));
  Lane other_tls = MxLane("b.example", a.site_scope);
  other_tls.tls = net::smtp::StartTlsPolicy::kRequired;
  EXPECT_NE(RollupGroup(a), RollupGroup(other_tls));
  EXPECT_EQ(RollupGroup(MxLane("own.example", "domain:own.example")), "");
  Lane route = MxLane("", "route:127.0.0.1:25");
  route.nexthop = Nexthop{.host = "127.0.0.1", .port = 25, .mx_lookup = false};
  EXPECT_EQ(RollupGroup(route), "");
}

TEST_F(SiteRollupTest, WaitingSiblingsAreServedLongestFirstAndOnce) {
  Lane a = MxLane("a.example", "site:mx.example");
  Lane b = MxLane("b.example", "site:mx.example");
  Lane c = MxLane("c.example", "site:mx.example");
  for (Lane* lane : {&a, &b, &c}) rollup_.Place(lane, RollupGroup(*lane));
  EXPECT_EQ(rollup_.groups(), 1u);
  EXPECT_EQ(rollup_.lanes_in(a), 3u);
  EXPECT_EQ(a.rollup_group, c.rollup_group) << "one key for the group";
  EXPECT_EQ(rollup_.WaitingSibling(&a), nullptr);
  WithJob(&b);
  WithJob(&c);
  rollup_.NoteWaiting(&c);
  rollup_.NoteWaiting(&b);
  rollup_.NoteWaiting(&c);  // once only
  EXPECT_EQ(rollup_.WaitingSibling(&a), &c);
  EXPECT_EQ(rollup_.WaitingSibling(&a), &b);
  EXPECT_EQ(rollup_.WaitingSibling(&a), nullptr);
  // A lane does not serve itself, and keeps its place.
  rollup_.NoteWaiting(&b);
  EXPECT_EQ(rollup_.WaitingSibling(&b), nullptr);
  EXPECT_EQ(rollup_.WaitingSibling(&a), &b);
}

TEST_F(SiteRollupTest, LanesWhoseJobsLeftOrThatLeftAreSkipped) {
  Lane a = MxLane("a.example", "site:mx.example");
  Lane b = MxLane("b.example", "site:mx.example");
  Lane c = MxLane("c.example", "site:mx.example");
  for (Lane* lane : {&a, &b, &c}) rollup_.Place(lane, RollupGroup(*lane));
  WithJob(&b);
  WithJob(&c);
  rollup_.NoteWaiting(&b);
  rollup_.NoteWaiting(&c);
  b.pending.clear();  // delivered over a connection of its own meanwhile
  rollup_.Leave(&c);
  EXPECT_FALSE(c.rollup_waiting);
  EXPECT_EQ(c.rollup_group, nullptr);
  EXPECT_EQ(rollup_.WaitingSibling(&a), nullptr);
  rollup_.Leave(&a);
  rollup_.Leave(&b);
  EXPECT_EQ(rollup_.groups(), 0u);
}

TEST_F(SiteRollupTest, OnlyASiblingWithAnIdleConnectionLends) {
  Lane a = MxLane("a.example", "site:mx.example");
  Lane b = MxLane("b.example", "site:mx.example");
  Lane elsewhere = MxLane("c.example", "site:mx.elsewhere.example");
  for (Lane* lane : {&a, &b, &elsewhere}) rollup_.Place(lane, RollupGroup(*lane));
  elsewhere.ready.push_back(c(0));
  rollup_.NoteIdle(&elsewhere);
  EXPECT_EQ(rollup_.SiblingWithIdle(&a), nullptr) << "another site's connection";
  elsewhere.ready.clear();
  b.ready.push_back(c(0));
  rollup_.NoteIdle(&b);
  EXPECT_EQ(rollup_.SiblingWithIdle(&a), &b);
  EXPECT_EQ(rollup_.SiblingWithIdle(&b), nullptr) << "not its own";
  b.ready.clear();  // taken
  EXPECT_EQ(rollup_.SiblingWithIdle(&a), nullptr);
}

TEST_F(SiteRollupTest, PlacingAgainInTheSameGroupChangesNothing) {
  // What SyncRollup does whenever a lane's shaping was refreshed: the group compared with
  // the lane's own (under ASan, a compare with a view of a freed copy failed here).
  Lane a = MxLane("a.example", "site:mx.example");
  Lane b = MxLane("b.example", "site:mx.example");
  rollup_.Place(&a, RollupGroup(a));
  rollup_.Place(&b, RollupGroup(b));
  WithJob(&a);
  rollup_.NoteWaiting(&a);
  const std::string* key = a.rollup_group;
  rollup_.Place(&a, RollupGroup(a));
  EXPECT_EQ(a.rollup_group, key);
  EXPECT_TRUE(a.rollup_waiting);
  EXPECT_EQ(rollup_.groups(), 1u);
  EXPECT_EQ(rollup_.lanes_in(a), 2u);
  EXPECT_EQ(rollup_.WaitingSibling(&b), &a);
}

TEST_F(SiteRollupTest, PlacingAgainMovesTheLaneBetweenGroups) {
  Lane a = MxLane("a.example", "site:mx.example");
  rollup_.Place(&a, RollupGroup(a));
  WithJob(&a);
  rollup_.NoteWaiting(&a);
  a.site_scope = "domain:a.example";  // the policy gave it a block of its own
  rollup_.Place(&a, RollupGroup(a));
  EXPECT_EQ(a.rollup_group, nullptr);
  EXPECT_FALSE(a.rollup_waiting);
  EXPECT_EQ(rollup_.groups(), 0u);
}

}  // namespace
}  // namespace tern::delivery
