// Tests of tools/ternd/shaping_report.h: what `ternctl shaping` reads from a ShapingState
// (overrides, throttles with the policy's limits, a destination resolved without MX lookup)
// and its aligned text.
#include "tools/ternd/shaping_report.h"

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "queue/shaping_policy_file.h"

namespace tern::tools::ternd {
namespace {

using ::testing::HasSubstr;

constexpr absl::string_view kPolicy = R"(
[default]
connection_limit = 20

[provider.google]
match = [{ domain_suffix = ".googlemail.com" }]
connection_limit = 40
max_message_rate = "3000/min"

[domain."example.com"]
max_message_rate = "600/min,max_burst=1"

[[domain."example.com".automation]]
regex = ['^421 4\.7\.28 ']
action = [{ suspend = "30m" }]
trigger = "immediate"
)";

class ShapingReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto policy = queue::ParseShapingPolicy(kPolicy, "shaping.toml");
    ASSERT_TRUE(policy.ok()) << policy.status();
    state_ = std::make_unique<queue::ShapingState>(
        std::make_shared<const queue::ShapingPolicy>(*std::move(policy)), "");
  }
  std::unique_ptr<queue::ShapingState> state_;
  const absl::Time now_ = absl::FromUnixSeconds(1'700'000'000);
};

TEST_F(ShapingReportTest, ListsOverridesWithTimeLeft) {
  ASSERT_TRUE(state_->overrides()
                  .Suspend("", "domain:example.com", now_ + absl::Minutes(30), "test", "ternctl")
                  .ok());
  const ShapingReport report = CollectShapingReport(*state_, "shaping.toml", {}, now_);
  EXPECT_EQ(report.policy_blocks, state_->policy()->block_count());
  ASSERT_EQ(report.overrides.size(), 1u);
  const std::string text = ShapingText(report, now_ + absl::Minutes(10));
  EXPECT_THAT(text, HasSubstr("policy                 shaping.toml\n"));
  EXPECT_THAT(text, HasSubstr("suspensions/overrides  1\n"));
  EXPECT_THAT(text, ::testing::ContainsRegex(
                        "domain:example.com +\\* +suspend +2023-11-14T22:43:20Z +20m0s +ternctl"));
}

TEST_F(ShapingReportTest, ThrottlesAreReadWithThePolicysLimits) {
  std::shared_ptr<queue::ScopeThrottle> google = state_->throttles().Get("provider:google@");
  const queue::RateSpec rate = *state_->policy()->FindProvider("google")->options.max_message_rate;
  for (int i = 0; i < 10; ++i)
    ASSERT_EQ(google->message_rate.TryTake(now_, rate), absl::ZeroDuration());
  ASSERT_TRUE(google->connections.TryAcquire(40));
  const ShapingReport report = CollectShapingReport(*state_, "", {}, now_);
  ASSERT_EQ(report.throttles.size(), 1u);
  const ThrottleRow& row = report.throttles[0];
  EXPECT_EQ(row.key, "provider:google@");
  ASSERT_TRUE(row.message_rate.has_value());
  EXPECT_EQ(row.message_rate->ToString(), "3000/min");
  EXPECT_EQ(row.message_tokens, 2990u);
  EXPECT_EQ(row.open_connections, 1u);
  EXPECT_EQ(row.connection_limit, 40u);
  EXPECT_THAT(ShapingText(report, now_),
              ::testing::ContainsRegex("provider:google@ +3000/min +2990"));
  google->connections.Release();
}

TEST_F(ShapingReportTest, DestinationIsResolvedByTheDomainAlone) {
  ASSERT_TRUE(state_->overrides()
                  .Suspend("", "provider:google", now_ + absl::Hours(1), "busy", "ternctl")
                  .ok());
  ShapingReport report = CollectShapingReport(*state_, "", {.domain = "X.GoogleMail.com."}, now_);
  ASSERT_TRUE(report.destination.has_value());
  EXPECT_EQ(report.destination->domain, "x.googlemail.com");
  EXPECT_EQ(report.destination->provider, "google");
  EXPECT_EQ(report.destination->lane.connection_limit, 40u);
  ASSERT_EQ(report.destination->overrides.size(), 1u);  // the provider's suspension
  EXPECT_THAT(ShapingText(report, now_), HasSubstr("no MX lookup"));

  report = CollectShapingReport(*state_, "", {.domain = "example.com"}, now_);
  ASSERT_EQ(report.destination->rules.size(), 1u);
  EXPECT_THAT(report.destination->rules[0], HasSubstr("suspend 30m"));
  EXPECT_EQ(report.destination->lane.max_message_rate->ToString(), "600/min,max_burst=1");
  EXPECT_TRUE(report.destination->overrides.empty());
}

TEST_F(ShapingReportTest, ListsAreBounded) {
  for (size_t i = 0; i < kShapingRowsMax + 5; ++i) {
    ASSERT_TRUE(state_->overrides()
                    .Suspend("", absl::StrCat("domain:d", i, ".example"), now_ + absl::Hours(1),
                             "r", "ternctl")
                    .ok());
  }
  const ShapingReport report = CollectShapingReport(*state_, "", {}, now_);
  EXPECT_EQ(report.overrides.size(), kShapingRowsMax);
  EXPECT_EQ(report.overrides_omitted, 5u);
  EXPECT_THAT(ShapingText(report, now_), HasSubstr("(5 more not shown)"));
}

}  // namespace
}  // namespace tern::tools::ternd
