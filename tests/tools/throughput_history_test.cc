// The throughput history's rates (tools/ternd/throughput_history.h) and the report's
// durations (tools/ternd/queue_report.h).
#include "tools/ternd/throughput_history.h"

#include "gtest/gtest.h"
#include "tools/ternd/queue_report.h"

namespace tern::tools::ternd {
namespace {

TEST(ThroughputHistoryTest, RatesOverTheWindow) {
  ThroughputHistory history;
  EXPECT_EQ(history.RatesOver(absl::Seconds(60)).window_seconds, 0);
  const absl::Time start = absl::FromUnixSeconds(1'800'000'000);
  uint64_t accepted = 0;
  for (int i = 0; i <= 120; ++i) {
    history.MaybeSample(start + absl::Seconds(i), [&] {
      ThroughputSample s;
      s.accepted = accepted;
      s.delivered = accepted / 2;
      return s;
    });
    // Sampled at most once a period.
    history.MaybeSample(start + absl::Seconds(i) + absl::Milliseconds(500),
                        [] { return ThroughputSample{.accepted = 1'000'000'000}; });
    accepted += i < 60 ? 10 : 100;
  }
  EXPECT_EQ(history.samples().size(), 121u);
  const Rates rates = history.RatesOver(absl::Seconds(60));
  EXPECT_EQ(rates.window_seconds, 60);
  EXPECT_DOUBLE_EQ(rates.accepted, 100.0);
  EXPECT_DOUBLE_EQ(rates.delivered, 50.0);
  for (int i = 121; i < 121 + 2 * static_cast<int>(ThroughputHistory::kSamplesMax); ++i) {
    history.MaybeSample(start + absl::Seconds(i), [] { return ThroughputSample{}; });
  }
  EXPECT_EQ(history.samples().size(), ThroughputHistory::kSamplesMax);
}

TEST(QueueReportTest, ShortDurations) {
  EXPECT_EQ(ShortDuration(absl::Seconds(42)), "42s");
  EXPECT_EQ(ShortDuration(absl::Seconds(312)), "5m12s");
  EXPECT_EQ(ShortDuration(absl::Hours(3) + absl::Minutes(4)), "3h4m");
  EXPECT_EQ(ShortDuration(absl::Hours(76)), "3d4h");
  EXPECT_EQ(ShortDuration(-absl::Seconds(5)), "0s");
}

}  // namespace
}  // namespace tern::tools::ternd
