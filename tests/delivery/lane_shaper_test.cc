// LaneShaper (delivery/lane_shaper.h): a lane reads a job only while the path will have a
// token for it within kReadAhead, counting the jobs read but not yet sent; the token is
// taken right before MAIL (TakeMessageToken), and a job that will not be sent gives its
// place back (CancelRead). Fake time; the policy and cells are the real ones.
#include "delivery/lane_shaper.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "queue/retry_schedule.h"
#include "queue/shaping_policy_file.h"
#include "queue/shaping_state.h"

namespace tern::delivery {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);

class LaneShaperTest : public ::testing::Test {
 protected:
  void Use(const std::string& policy_text) {
    absl::StatusOr<queue::ShapingPolicy> policy =
        queue::ParseShapingPolicy(policy_text, "test.toml");
    ASSERT_TRUE(policy.ok()) << policy.status();
    state_ = std::make_unique<queue::ShapingState>(
        std::make_shared<const queue::ShapingPolicy>(*std::move(policy)), "");
    shaper_ = std::make_unique<LaneShaper>(state_.get(), &retry_);
    lane_.nexthop = Nexthop{.host = "127.0.0.1", .port = 2525, .mx_lookup = false};
    shaper_->Resolve(&lane_, kStart);
  }

  queue::RetrySchedule retry_ = *queue::RetrySchedule::Parse("1m", absl::Hours(1));
  std::unique_ptr<queue::ShapingState> state_;
  std::unique_ptr<LaneShaper> shaper_;
  Lane lane_;
};

TEST_F(LaneShaperTest, WithoutARateEveryJobIsReadAndSentAtOnce) {
  Use("");
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(shaper_->AdmitRead(&lane_, kStart), absl::ZeroDuration());
  }
  EXPECT_EQ(lane_.messages_reading, 100u);
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(shaper_->TakeMessageToken(&lane_, kStart), absl::ZeroDuration());
  }
  EXPECT_EQ(lane_.messages_reading, 0u);
  EXPECT_EQ(shaper_->messages_throttled(), 0u);
}

TEST_F(LaneShaperTest, BurstOneReadsOneJobAheadOfItsToken) {
  Use("[default]\nmax_message_rate = \"10/s,max_burst=1\"\n");  // one every 100 ms
  ASSERT_EQ(shaper_->AdmitRead(&lane_, kStart), absl::ZeroDuration());
  // The one token in sight is the first job's: the next waits for its take.
  EXPECT_EQ(shaper_->AdmitRead(&lane_, kStart), absl::InfiniteDuration());
  EXPECT_TRUE(lane_.read_blocked);
  ASSERT_EQ(shaper_->TakeMessageToken(&lane_, kStart), absl::ZeroDuration());
  EXPECT_EQ(lane_.messages_reading, 0u);
  // Nothing being read now: come back kReadAhead before the next token (at 100 ms).
  EXPECT_EQ(shaper_->AdmitRead(&lane_, kStart), absl::Milliseconds(90));
  EXPECT_EQ(shaper_->AdmitRead(&lane_, kStart + absl::Milliseconds(89)), absl::Milliseconds(1));
  // From 90 ms on, the job is read ahead; its take waits for the token itself.
  const absl::Time read_at = kStart + absl::Milliseconds(90);
  ASSERT_EQ(shaper_->AdmitRead(&lane_, read_at), absl::ZeroDuration());
  EXPECT_EQ(shaper_->TakeMessageToken(&lane_, read_at + absl::Milliseconds(2)),
            absl::Milliseconds(8));
  EXPECT_EQ(lane_.messages_reading, 1u) << "a refused take keeps its place";
  EXPECT_EQ(shaper_->TakeMessageToken(&lane_, kStart + absl::Milliseconds(100)),
            absl::ZeroDuration());
  EXPECT_EQ(lane_.messages_reading, 0u);
}

TEST_F(LaneShaperTest, ABurstReadsAsManyJobsAsTokensAndCancelGivesThePlaceBack) {
  Use("[default]\nmax_message_rate = \"10/s,max_burst=3\"\n");
  for (int i = 0; i < 3; ++i) ASSERT_EQ(shaper_->AdmitRead(&lane_, kStart), absl::ZeroDuration());
  EXPECT_EQ(shaper_->AdmitRead(&lane_, kStart), absl::InfiniteDuration());
  shaper_->CancelRead(&lane_);  // e.g. its connection went while it was read
  EXPECT_EQ(lane_.messages_reading, 2u);
  EXPECT_EQ(shaper_->AdmitRead(&lane_, kStart), absl::ZeroDuration());
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(shaper_->TakeMessageToken(&lane_, kStart), absl::ZeroDuration());
  }
  EXPECT_GT(shaper_->messages_throttled(), 0u);
}

TEST_F(LaneShaperTest, ASuspensionHoldsBothTheReadAndTheTake) {
  Use("");
  ASSERT_EQ(shaper_->AdmitRead(&lane_, kStart), absl::ZeroDuration());
  ASSERT_TRUE(state_->overrides()
                  .Suspend("", lane_.site_scope, kStart + absl::Minutes(30), "test", "test")
                  .ok());
  shaper_->RefreshIfStale(&lane_, kStart);
  EXPECT_EQ(shaper_->TakeMessageToken(&lane_, kStart), absl::Minutes(30));
  EXPECT_EQ(shaper_->AdmitRead(&lane_, kStart + absl::Minutes(1)), absl::Minutes(29));
  shaper_->CancelRead(&lane_);
  EXPECT_EQ(lane_.messages_reading, 0u);
}

}  // namespace
}  // namespace tern::delivery
