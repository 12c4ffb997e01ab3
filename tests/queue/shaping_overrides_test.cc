// ShapingOverrides (queue/shaping_overrides.h): suspensions and `set` overrides per
// source→scope, the ramp back after them, listing, expiry, and the state kept across a
// restart (SaveTo/LoadFrom).
#include "queue/shaping_overrides.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "gtest/gtest.h"

namespace tern::queue {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

ShapingOptions Configured() {
  ShapingOptions o;
  o.max_message_rate = RateSpec{3000, absl::Minutes(1), 3000};
  o.connection_limit = 40;
  return o;
}

std::string TempPath(const char* name) {
  return std::string(::testing::TempDir()) + "/" + name + "." + std::to_string(::getpid());
}

TEST(ShapingOverrides, NothingAppliesWithoutEntries) {
  ShapingOverrides overrides;
  const EffectiveShaping e = overrides.Effective("ip2", "provider:google", kNow, Configured());
  EXPECT_FALSE(e.suspended);
  EXPECT_EQ(e.options, Configured());
  EXPECT_EQ(e.why, "");
  EXPECT_EQ(e.next_change, absl::InfiniteFuture());
}

TEST(ShapingOverrides, SuspensionAppliesToItsPairAndAllSourcesOnesToEverySource) {
  ShapingOverrides overrides;
  ASSERT_TRUE(overrides
                  .Suspend("ip2", "provider:google", kNow + absl::Minutes(30),
                           "421 4.7.28 unusual rate", "provider.google.automation[0]")
                  .ok());
  EffectiveShaping e = overrides.Effective("ip2", "provider:google", kNow, Configured());
  EXPECT_TRUE(e.suspended);
  EXPECT_EQ(e.until, kNow + absl::Minutes(30));
  EXPECT_EQ(e.next_change, kNow + absl::Minutes(30));
  EXPECT_NE(e.why.find("provider.google.automation[0]"), std::string::npos) << e.why;
  EXPECT_NE(e.why.find("421 4.7.28 unusual rate"), std::string::npos) << e.why;
  EXPECT_FALSE(overrides.Effective("ip3", "provider:google", kNow, Configured()).suspended);
  EXPECT_FALSE(overrides.Effective("ip2", "provider:outlook", kNow, Configured()).suspended);
  // Ended: nothing applies (no ramp given).
  EXPECT_FALSE(overrides.Effective("ip2", "provider:google", kNow + absl::Minutes(30), Configured())
                   .suspended);

  ASSERT_TRUE(
      overrides.Suspend("", "domain:example.com", kNow + absl::Hours(1), "maintenance", "operator")
          .ok());
  const std::vector<std::string> scopes = {"provider:google", "domain:example.com"};
  e = overrides.Effective("ip9", scopes, kNow, Configured());
  EXPECT_TRUE(e.suspended);
  EXPECT_EQ(e.until, kNow + absl::Hours(1));
  e = overrides.Effective("ip2", scopes, kNow, Configured());
  EXPECT_EQ(e.until, kNow + absl::Hours(1));  // the later of the two
  EXPECT_EQ(e.next_change, kNow + absl::Minutes(30));
}

TEST(ShapingOverrides, SetLaysOptionsOverTheConfiguredOnes) {
  ShapingOverrides overrides;
  ShapingOptions slow;
  slow.max_message_rate = RateSpec{100, absl::Hours(1), 100};
  ASSERT_TRUE(overrides
                  .Override("ip2", "site:mx.example.com", slow, kNow + absl::Hours(2),
                            "451 4.7.650", "rule")
                  .ok());
  const EffectiveShaping e = overrides.Effective("ip2", "site:mx.example.com", kNow, Configured());
  EXPECT_FALSE(e.suspended);
  EXPECT_EQ(e.options.max_message_rate, slow.max_message_rate);
  EXPECT_EQ(e.options.connection_limit, 40u);  // not set by the override
  EXPECT_EQ(e.next_change, kNow + absl::Hours(2));
  EXPECT_NE(e.why.find("overridden"), std::string::npos);
}

TEST(ShapingOverrides, RampFactorAtEachStepAfterASuspension) {
  ShapingOverrides overrides;
  const absl::Time until = kNow + absl::Minutes(30);
  ASSERT_TRUE(
      overrides.Suspend("ip2", "provider:google", until, "421", "rule", RampUp{4, absl::Hours(1)})
          .ok());
  struct Step {
    absl::Duration after;
    uint64_t count;
    uint32_t connection_limit;
    absl::Time next_change;
  };
  const Step steps[] = {
      {absl::ZeroDuration(), 750, 10, until + absl::Minutes(15)},
      {absl::Minutes(14), 750, 10, until + absl::Minutes(15)},
      {absl::Minutes(15), 1500, 20, until + absl::Minutes(30)},
      {absl::Minutes(30), 2250, 30, until + absl::Minutes(45)},
      {absl::Minutes(45), 3000, 40, absl::InfiniteFuture()},
      {absl::Hours(2), 3000, 40, absl::InfiniteFuture()},
  };
  for (const Step& s : steps) {
    const EffectiveShaping e =
        overrides.Effective("ip2", "provider:google", until + s.after, Configured());
    EXPECT_FALSE(e.suspended);
    EXPECT_EQ(e.options.max_message_rate->count, s.count) << s.after;
    EXPECT_EQ(e.options.max_message_rate->burst, s.count) << s.after;
    EXPECT_EQ(e.options.connection_limit, s.connection_limit) << s.after;
    EXPECT_EQ(e.next_change, s.next_change) << s.after;
  }
  EXPECT_EQ(overrides.List(until + absl::Minutes(59)).size(), 1u);
  EXPECT_EQ(overrides.Expire(until + absl::Minutes(59)), 0u);
  EXPECT_EQ(overrides.Expire(until + absl::Hours(1)), 1u);
  EXPECT_EQ(overrides.size(), 0u);
}

TEST(ShapingOverrides, ResumeEndsAtOnceAndVersionMoves) {
  ShapingOverrides overrides;
  const uint64_t v0 = overrides.version();
  ASSERT_TRUE(overrides
                  .Suspend("ip2", "provider:google", kNow + absl::Hours(1), "x", "rule",
                           RampUp{4, absl::Hours(1)})
                  .ok());
  const uint64_t v1 = overrides.version();
  EXPECT_NE(v1, v0);
  EXPECT_TRUE(overrides.Resume("ip2", "provider:google"));
  EXPECT_NE(overrides.version(), v1);
  EXPECT_FALSE(overrides.Resume("ip2", "provider:google"));
  const EffectiveShaping e = overrides.Effective("ip2", "provider:google", kNow, Configured());
  EXPECT_FALSE(e.suspended);
  EXPECT_EQ(e.options, Configured());
}

TEST(ShapingOverrides, BadKeysAreRefusedLongReasonsCut) {
  ShapingOverrides overrides;
  EXPECT_FALSE(overrides.Suspend("ip2", "", kNow + absl::Hours(1), "", "").ok());
  EXPECT_FALSE(overrides.Suspend(std::string(1000, 's'), "x", kNow + absl::Hours(1), "", "").ok());
  EXPECT_FALSE(overrides.Suspend("ip2", "x", kNow, "", "", RampUp{0, absl::Hours(1)}).ok());
  ASSERT_TRUE(
      overrides.Suspend("ip2", "x", kNow + absl::Hours(1), std::string(5000, 'r'), "").ok());
  EXPECT_EQ(overrides.List(kNow)[0].reason.size(), ShapingOverride::kReasonBytesMax);
}

TEST(ShapingOverrides, SaveAndLoadRoundTripKeepsTimeLeftDropsEnded) {
  const std::string path = TempPath("shaping-state");
  ShapingOverrides before;
  ShapingOptions slow;
  slow.max_message_rate = RateSpec{100, absl::Hours(1), 10};
  slow.max_connection_rate = RateSpec{5, absl::Seconds(1), 5};
  slow.connection_limit = 2;
  slow.max_deliveries_per_connection = 50;
  slow.retry_schedule = "1m,5m";
  slow.max_queue_lifetime = absl::Hours(48);
  slow.consecutive_connection_failures_before_delay = 3;
  slow.connection_failure_delay = absl::Minutes(1);
  slow.connection_failure_delay_max = absl::Hours(1);
  ASSERT_TRUE(before
                  .Suspend("ip2", "provider:google", kNow + absl::Minutes(30),
                           "421 4.7.28 \"quoted\" \xff bytes", "provider.google.automation[0]",
                           RampUp{4, absl::Hours(1)})
                  .ok());
  ASSERT_TRUE(
      before.Override("", "domain:example.com", slow, kNow + absl::Hours(2), "", "operator").ok());
  ASSERT_TRUE(before.Suspend("ip3", "site:old", kNow + absl::Minutes(5), "", "rule").ok());
  ASSERT_TRUE(before.SaveTo(path, kNow).ok());

  // Restarted 10 minutes later: the first two are kept with their absolute ends, the third
  // (ended at +5 min, no ramp) is dropped.
  ShapingOverrides after;
  ASSERT_TRUE(after.LoadFrom(path, kNow + absl::Minutes(10)).ok());
  const std::vector<ShapingOverride> list = after.List(kNow + absl::Minutes(10));
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].scope, "domain:example.com");
  EXPECT_EQ(list[0].options, slow);
  EXPECT_EQ(list[0].until, kNow + absl::Hours(2));
  EXPECT_EQ(list[1].scope, "provider:google");
  EXPECT_EQ(list[1].until, kNow + absl::Minutes(30));
  EXPECT_EQ(list[1].ramp_up, (RampUp{4, absl::Hours(1)}));
  EXPECT_EQ(list[1].cause, "provider.google.automation[0]");
  EXPECT_EQ(list[1].reason.substr(0, 20), "421 4.7.28 \"quoted\" ");
  EXPECT_TRUE(
      after.Effective("ip2", "provider:google", kNow + absl::Minutes(10), Configured()).suspended);
  // Loaded at +100 min: the suspension's ramp ended at +90 min, the set runs to +2 h.
  ShapingOverrides late;
  ASSERT_TRUE(late.LoadFrom(path, kNow + absl::Minutes(100)).ok());
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late.List(kNow + absl::Minutes(100))[0].scope, "domain:example.com");
  ASSERT_TRUE(late.LoadFrom(path, kNow + absl::Hours(3)).ok());
  EXPECT_EQ(late.size(), 0u);
  std::remove(path.c_str());
}

TEST(ShapingOverrides, MissingFileIsEmptyStateCorruptFileIsAnErrorNamingTheLine) {
  const std::string path = TempPath("shaping-corrupt");
  ShapingOverrides overrides;
  ASSERT_TRUE(overrides.Suspend("ip2", "x", kNow + absl::Hours(1), "", "").ok());
  std::remove(path.c_str());
  EXPECT_TRUE(overrides.LoadFrom(path, kNow).ok());
  EXPECT_EQ(overrides.size(), 0u);

  ASSERT_TRUE(overrides.Suspend("ip2", "x", kNow + absl::Hours(1), "", "").ok());
  {
    std::ofstream out(path);
    out << "{\"tern_shaping_state\":1}\n"
        << "{\"source\":\"\",\"scope\":\"a\",\"kind\":\"suspend\",\"until_unix_ms\":1}\n"
        << "{\"source\":\"\",\"scope\":\"b\",\"kind\":\"suspend\",\"until_unix_ms\":-5}\n";
  }
  const absl::Status status = overrides.LoadFrom(path, kNow);
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find(path + ":3: until_unix_ms"), std::string::npos) << status;
  EXPECT_EQ(overrides.size(), 1u);  // unchanged
  std::remove(path.c_str());
}

TEST(ShapingOverrides, SaveToAnUnwritablePlaceNamesTheFileAndLeavesNothing) {
  ShapingOverrides overrides;
  ASSERT_TRUE(overrides.Suspend("ip2", "x", kNow + absl::Hours(1), "", "").ok());
  const std::string dir = TempPath("no-such-dir");
  const absl::Status status = overrides.SaveTo(dir + "/state.jsonl", kNow);
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("open " + dir + "/state.jsonl.tmp."), std::string::npos)
      << status;
  // A second save over a first replaces it whole.
  const std::string path = TempPath("shaping-replace");
  ASSERT_TRUE(overrides.SaveTo(path, kNow).ok());
  ASSERT_TRUE(overrides.Resume("ip2", "x"));
  ASSERT_TRUE(overrides.SaveTo(path, kNow).ok());
  ShapingOverrides loaded;
  ASSERT_TRUE(loaded.LoadFrom(path, kNow).ok());
  EXPECT_EQ(loaded.size(), 0u);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace tern::queue
