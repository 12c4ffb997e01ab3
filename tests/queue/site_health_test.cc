// SiteHealth (queue/site_health.h): a dead site is delayed after a few failed attempts in a
// row, the delay doubles per failed probe up to its maximum, one probe at a time tests
// recovery, and an untested site gets only a few attempts at once.
#include "queue/site_health.h"

#include <vector>

#include "gtest/gtest.h"

namespace tern::queue {
namespace {

using Verdict = SiteHealth::Verdict;

const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);
constexpr uint32_t kShard = 0;

ShapingOptions Options() {
  ShapingOptions o = ShapingOptions::BuiltInDefaults();
  o.consecutive_connection_failures_before_delay = 3;
  o.connection_failure_delay = absl::Minutes(1);
  o.connection_failure_delay_max = absl::Minutes(4);
  return o;
}

TEST(SiteHealth, UntestedSiteGetsAFewAttemptsAtOnce) {
  SiteHealth health("mx:example.com:25");
  for (uint32_t i = 0; i < SiteHealth::kUntestedAttemptsMax; ++i) {
    EXPECT_EQ(health.Admit(kStart, kShard).verdict, Verdict::kOpen);
  }
  const SiteHealth::Admission more = health.Admit(kStart, kShard);
  EXPECT_EQ(more.verdict, Verdict::kWait);
  EXPECT_FALSE(more.delayed);
  health.NoteAttemptEnded(kStart, /*ok=*/true, Options(), "");
  // Tested: no cap on attempts any more.
  for (int i = 0; i < 50; ++i) EXPECT_EQ(health.Admit(kStart, kShard).verdict, Verdict::kOpen);
}

TEST(SiteHealth, ConsecutiveFailuresDelayThenOneProbeDecides) {
  SiteHealth health("mx:dead.example:25");
  absl::Time now = kStart;
  ASSERT_EQ(health.Admit(now, kShard).verdict, Verdict::kOpen);
  EXPECT_FALSE(health.NoteAttemptEnded(now, false, Options(), "421 busy"));
  // After a failure, one attempt at a time.
  ASSERT_EQ(health.Admit(now, kShard).verdict, Verdict::kOpen);
  EXPECT_EQ(health.Admit(now, kShard).verdict, Verdict::kWait);
  EXPECT_FALSE(health.NoteAttemptEnded(now, false, Options(), "421 busy"));
  ASSERT_EQ(health.Admit(now, kShard).verdict, Verdict::kOpen);
  EXPECT_TRUE(health.NoteAttemptEnded(now, false, Options(), "421 4.7.0 go away"));

  SiteHealth::Admission a = health.Admit(now + absl::Seconds(59), kShard);
  EXPECT_EQ(a.verdict, Verdict::kWait);
  EXPECT_TRUE(a.delayed);
  EXPECT_EQ(a.until, now + absl::Minutes(1));
  SiteHealth::Snapshot s = health.Read();
  EXPECT_EQ(s.consecutive_failures, 3u);
  EXPECT_EQ(s.last_failure, "421 4.7.0 go away");
  EXPECT_EQ(s.delays, 1u);

  // The delay is over: exactly one probe, for every shard.
  now += absl::Minutes(1);
  EXPECT_EQ(health.Admit(now, kShard).verdict, Verdict::kOpen);
  EXPECT_EQ(health.Admit(now, kShard).verdict, Verdict::kWait);
  // It fails: the delay doubles, 2 then 4 (the maximum), then stays.
  EXPECT_TRUE(health.NoteAttemptEnded(now, false, Options(), "refused"));
  EXPECT_EQ(health.Admit(now, kShard).until, now + absl::Minutes(2));
  now += absl::Minutes(2);
  ASSERT_EQ(health.Admit(now, kShard).verdict, Verdict::kOpen);
  health.NoteAttemptEnded(now, false, Options(), "refused");
  EXPECT_EQ(health.Admit(now, kShard).until, now + absl::Minutes(4));
  now += absl::Minutes(4);
  ASSERT_EQ(health.Admit(now, kShard).verdict, Verdict::kOpen);
  health.NoteAttemptEnded(now, false, Options(), "refused");
  EXPECT_EQ(health.Admit(now, kShard).until, now + absl::Minutes(4));
  EXPECT_EQ(health.Read().delays, 4u);

  // Recovery: a probe gets through, the site is healthy and the delay starts over.
  now += absl::Minutes(4);
  ASSERT_EQ(health.Admit(now, kShard).verdict, Verdict::kOpen);
  EXPECT_FALSE(health.NoteAttemptEnded(now, true, Options(), ""));
  s = health.Read();
  EXPECT_FALSE(s.delayed);
  EXPECT_EQ(s.consecutive_failures, 0u);
  EXPECT_EQ(health.Admit(now, kShard).verdict, Verdict::kOpen);
}

TEST(SiteHealth, FailuresOfAttemptsStartedBeforeTheDelayDoNotExtendIt) {
  SiteHealth health("mx:example.net:25");
  ShapingOptions o = Options();
  o.consecutive_connection_failures_before_delay = 1;
  ASSERT_EQ(health.Admit(kStart, kShard).verdict, Verdict::kOpen);
  ASSERT_EQ(health.Admit(kStart, kShard).verdict, Verdict::kOpen);
  EXPECT_TRUE(health.NoteAttemptEnded(kStart, false, o, "refused"));
  EXPECT_FALSE(health.NoteAttemptEnded(kStart + absl::Seconds(5), false, o, "refused"));
  EXPECT_EQ(health.Admit(kStart, kShard).until, kStart + absl::Minutes(1));
  EXPECT_EQ(health.Read().delays, 1u);
}

TEST(SiteHealth, AbandonedAttemptsCountNothing) {
  SiteHealth health("mx:example.org:25");
  ASSERT_EQ(health.Admit(kStart, kShard).verdict, Verdict::kOpen);
  ASSERT_EQ(health.Admit(kStart, kShard).verdict, Verdict::kOpen);
  health.NoteAttemptAbandoned();
  health.NoteAttemptAbandoned();
  EXPECT_EQ(health.Read().consecutive_failures, 0u);
  EXPECT_EQ(health.Admit(kStart, kShard).verdict, Verdict::kOpen);
}

TEST(SiteHealth, AProbeNeverReportedIsGivenUp) {
  SiteHealth health("mx:example.com:25");
  ASSERT_EQ(health.Admit(kStart, kShard).verdict, Verdict::kOpen);
  health.NoteAttemptEnded(kStart, false, Options(), "refused");
  // Its shard stops and never reports.
  ASSERT_EQ(health.Admit(kStart, kShard).verdict, Verdict::kOpen);
  EXPECT_EQ(health.Admit(kStart + absl::Minutes(1), kShard).verdict, Verdict::kWait);
  EXPECT_EQ(health.Admit(kStart + SiteHealth::kProbeTimeout + absl::Seconds(1), kShard).verdict,
            Verdict::kOpen);
}

// A site whose untested attempts all run on shard 0; the shards told are recorded.
class UntestedSiteWaiters : public ::testing::Test {
 protected:
  void SetUp() override {
    table_.SetWake([this](uint32_t shard) { told_.push_back(shard); });
    site_ = table_.Get("mx:example.com:25");
    for (uint32_t i = 0; i < SiteHealth::kUntestedAttemptsMax; ++i) {
      ASSERT_EQ(site_->Admit(kStart, /*shard=*/0).verdict, Verdict::kOpen);
    }
  }

  SiteHealthTable table_;
  std::vector<uint32_t> told_;
  std::shared_ptr<SiteHealth> site_;
};

TEST_F(UntestedSiteWaiters, ShardsRefusedAreToldOnceWhenAnAttemptEnds) {
  std::shared_ptr<SiteHealth>& site = site_;
  std::vector<uint32_t>& told = told_;
  EXPECT_EQ(site->Admit(kStart, /*shard=*/1).verdict, Verdict::kWait);
  EXPECT_EQ(site->Admit(kStart, /*shard=*/1).verdict, Verdict::kWait);  // asked again
  EXPECT_EQ(site->Admit(kStart, /*shard=*/2).verdict, Verdict::kWait);
  EXPECT_TRUE(told.empty());
  site->NoteAttemptEnded(kStart, /*ok=*/true, Options(), "");
  EXPECT_EQ(told, (std::vector<uint32_t>{1, 2}));  // each once, in the order refused
  site->NoteAttemptEnded(kStart, /*ok=*/true, Options(), "");
  EXPECT_EQ(told.size(), 2u);  // told already: nobody waits any more
  EXPECT_EQ(site->Admit(kStart, /*shard=*/1).verdict, Verdict::kOpen);
}

TEST_F(UntestedSiteWaiters, AnAbandonedOrFailedAttemptAlsoTellsThem) {
  std::shared_ptr<SiteHealth>& site = site_;
  std::vector<uint32_t>& told = told_;
  ASSERT_EQ(site->Admit(kStart, /*shard=*/1).verdict, Verdict::kWait);
  site->NoteAttemptAbandoned();  // its slot is free: shard 1 may take it
  EXPECT_EQ(told, (std::vector<uint32_t>{1}));
  ASSERT_EQ(site->Admit(kStart, /*shard=*/1).verdict, Verdict::kOpen);
  ASSERT_EQ(site->Admit(kStart, /*shard=*/3).verdict, Verdict::kWait);
  site->NoteAttemptEnded(kStart, /*ok=*/false, Options(), "refused");
  EXPECT_EQ(told, (std::vector<uint32_t>{1, 3}));
}

TEST(SiteHealthTable, SharedPerKeyTroubledListedAndSwept) {
  SiteHealthTable table;
  std::shared_ptr<SiteHealth> a = table.Get("mx:a.example:25");
  EXPECT_EQ(table.Get("mx:a.example:25"), a);
  std::shared_ptr<SiteHealth> b = table.Get("mx:b.example:25");
  ASSERT_EQ(b->Admit(kStart, kShard).verdict, Verdict::kOpen);
  b->NoteAttemptEnded(kStart, false, Options(), "refused");
  ASSERT_EQ(table.Troubled().size(), 1u);
  EXPECT_EQ(table.Troubled()[0].key, "mx:b.example:25");
  a.reset();
  b.reset();
  EXPECT_EQ(table.Sweep(), 1u);  // a: healthy and unheld; b remembers its failure
  EXPECT_EQ(table.size(), 1u);
}

}  // namespace
}  // namespace tern::queue
