// Tests of FaultPlan and FaultInjector (tools/tern_bench/sink_faults.h): flag parsing and
// its errors, and seeded, replayable decisions.
#include "tools/tern_bench/sink_faults.h"

#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace tern::tools::tern_bench {
namespace {

FaultPlan MustParse(const FaultFlags& flags) {
  absl::StatusOr<FaultPlan> plan = FaultPlan::Parse(flags);
  EXPECT_TRUE(plan.ok()) << plan.status();
  return plan.ok() ? *plan : FaultPlan();
}

TEST(FaultPlan, ParsesEveryKindAndStage) {
  const FaultPlan plan = MustParse({.tempfail = "rcpt:0.1, dot:0.05",
                                    .permfail = "MAIL:0.01",
                                    .disconnect = "connect:0.5,quit:1",
                                    .delay = "rcpt:5ms,dot:1.5s,ehlo:0"});
  EXPECT_DOUBLE_EQ(plan.stage(FaultStage::kRcpt).tempfail, 0.1);
  EXPECT_DOUBLE_EQ(plan.stage(FaultStage::kDot).tempfail, 0.05);
  EXPECT_DOUBLE_EQ(plan.stage(FaultStage::kMail).permfail, 0.01);
  EXPECT_DOUBLE_EQ(plan.stage(FaultStage::kConnect).disconnect, 0.5);
  EXPECT_DOUBLE_EQ(plan.stage(FaultStage::kQuit).disconnect, 1.0);
  EXPECT_EQ(plan.stage(FaultStage::kRcpt).delay, absl::Milliseconds(5));
  EXPECT_EQ(plan.stage(FaultStage::kDot).delay, absl::Milliseconds(1500));
  EXPECT_EQ(plan.stage(FaultStage::kEhlo).delay, absl::ZeroDuration());
  EXPECT_FALSE(plan.stage(FaultStage::kData).random());
  EXPECT_FALSE(plan.empty());
  EXPECT_EQ(plan.Describe(),
            "tempfail rcpt:0.1,dot:0.05; permfail mail:0.01; disconnect connect:0.5,quit:1; "
            "delay rcpt:5ms,dot:1.5s");
  EXPECT_TRUE(MustParse({}).empty());
  EXPECT_EQ(MustParse({}).Describe(), "none");
}

TEST(FaultPlan, RefusesBadFlagsWithAClearMessage) {
  struct Bad {
    FaultFlags flags;
    const char* message_part;
  };
  const Bad cases[] = {
      {{.tempfail = "rcpt"}, "--tempfail_rate: \"rcpt\" is not STAGE:VALUE"},
      {{.tempfail = "helo:0.1"}, "unknown stage \"helo\""},
      {{.permfail = "rcpt:1.5"}, "--permfail_rate: rate \"1.5\" for rcpt is not a probability"},
      {{.permfail = "rcpt:-0.1"}, "not a probability"},
      {{.disconnect = "dot:x"}, "--disconnect_rate: rate \"x\""},
      {{.disconnect = "dot:nan"}, "not a probability"},
      {{.tempfail = "rcpt:0.1,rcpt:0.2"}, "stage rcpt given twice"},
      {{.tempfail = "rcpt:0.6", .permfail = "rcpt:0.5"}, "add up to more than 1"},
      {{.delay = "dot:20"}, "--delay: delay \"20\" for dot is not a duration"},
      {{.delay = "dot:-1s"}, "not a duration"},
      {{.delay = "dot:11m"}, "not a duration"},
  };
  for (const Bad& bad : cases) {
    absl::StatusOr<FaultPlan> plan = FaultPlan::Parse(bad.flags);
    ASSERT_FALSE(plan.ok()) << bad.message_part;
    EXPECT_TRUE(absl::IsInvalidArgument(plan.status()));
    EXPECT_TRUE(absl::StrContains(plan.status().message(), bad.message_part))
        << plan.status().message();
  }
}

TEST(FaultInjector, NoPlanNeverFaults) {
  FaultInjector injector(nullptr, 1);
  const FaultDecision d = injector.Decide(FaultStage::kRcpt);
  EXPECT_EQ(d.action, FaultAction::kNone);
  EXPECT_EQ(d.delay, absl::ZeroDuration());
}

TEST(FaultInjector, RatesOfZeroAndOneAreExact) {
  const FaultPlan plan = MustParse({.tempfail = "rcpt:1,mail:0", .delay = "rcpt:3ms"});
  FaultInjector injector(&plan, 12345);
  for (int i = 0; i < 1000; ++i) {
    const FaultDecision rcpt = injector.Decide(FaultStage::kRcpt);
    ASSERT_EQ(rcpt.action, FaultAction::kTempfail);
    ASSERT_EQ(rcpt.delay, absl::Milliseconds(3));
    ASSERT_EQ(injector.Decide(FaultStage::kMail).action, FaultAction::kNone);
  }
}

std::vector<FaultAction> Draw(const FaultPlan& plan, uint64_t seed, int n) {
  FaultInjector injector(&plan, seed);
  std::vector<FaultAction> actions;
  for (int i = 0; i < n; ++i) actions.push_back(injector.Decide(FaultStage::kDot).action);
  return actions;
}

TEST(FaultInjector, AFixedSeedReplaysTheSameDecisions) {
  const FaultPlan plan =
      MustParse({.tempfail = "dot:0.2", .permfail = "dot:0.1", .disconnect = "dot:0.05"});
  EXPECT_EQ(Draw(plan, 42, 500), Draw(plan, 42, 500));
  EXPECT_NE(Draw(plan, 42, 500), Draw(plan, 43, 500));
}

TEST(FaultInjector, DecisionsFollowTheRates) {
  const FaultPlan plan =
      MustParse({.tempfail = "dot:0.2", .permfail = "dot:0.1", .disconnect = "dot:0.05"});
  constexpr int kDraws = 200000;
  int counts[kFaultActionCount] = {};
  for (FaultAction a : Draw(plan, 7, kDraws)) ++counts[static_cast<int>(a)];
  // Five standard deviations at most: a fixed seed makes this deterministic anyway.
  EXPECT_NEAR(counts[static_cast<int>(FaultAction::kTempfail)], 0.2 * kDraws, 900);
  EXPECT_NEAR(counts[static_cast<int>(FaultAction::kPermfail)], 0.1 * kDraws, 700);
  EXPECT_NEAR(counts[static_cast<int>(FaultAction::kDisconnect)], 0.05 * kDraws, 500);
  EXPECT_NEAR(counts[static_cast<int>(FaultAction::kNone)], 0.65 * kDraws, 1100);
}

TEST(FaultInjector, StagesWithoutRatesDoNotShiftTheOthers) {
  const FaultPlan plan = MustParse({.tempfail = "dot:0.5", .delay = "rcpt:1ms"});
  FaultInjector plain(&plan, 99);
  FaultInjector interleaved(&plan, 99);
  for (int i = 0; i < 200; ++i) {
    interleaved.Decide(FaultStage::kRcpt);
    interleaved.Decide(FaultStage::kMail);
    ASSERT_EQ(plain.Decide(FaultStage::kDot).action, interleaved.Decide(FaultStage::kDot).action);
  }
}

TEST(FaultInjector, MixedSeedsDifferPerThreadAndConnection) {
  EXPECT_EQ(MixFaultSeed(1, 0, 0), MixFaultSeed(1, 0, 0));
  EXPECT_NE(MixFaultSeed(1, 0, 0), MixFaultSeed(1, 0, 1));
  EXPECT_NE(MixFaultSeed(1, 0, 1), MixFaultSeed(1, 1, 0));
  EXPECT_NE(MixFaultSeed(1, 0, 0), MixFaultSeed(2, 0, 0));
}

TEST(FaultStageNames, RoundTrip) {
  for (size_t i = 0; i < kFaultStageCount; ++i) {
    const FaultStage stage = static_cast<FaultStage>(i);
    EXPECT_EQ(ParseFaultStage(FaultStageName(stage)), stage);
  }
  EXPECT_EQ(ParseFaultStage("DOT"), FaultStage::kDot);
  EXPECT_FALSE(ParseFaultStage("body").has_value());
}

}  // namespace
}  // namespace tern::tools::tern_bench
