// Tests of core/metrics_text.h: the exposition lines, label escaping, histograms and exact
// decimals.
#include "core/metrics_text.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace tern::core {
namespace {

TEST(MetricsText, FamilyAndSamples) {
  std::string out;
  MetricsText text(&out);
  text.Family("tern_x_total", MetricType::kCounter, "Xs seen.");
  text.Sample({{"shard", "0"}}, 42);
  text.Sample({{"shard", "1"}, {"result", "ok"}}, "7");
  text.Family("tern_y", MetricType::kGauge, "Y now.");
  text.Sample({}, 3);
  EXPECT_EQ(out,
            "# HELP tern_x_total Xs seen.\n# TYPE tern_x_total counter\n"
            "tern_x_total{shard=\"0\"} 42\ntern_x_total{shard=\"1\",result=\"ok\"} 7\n"
            "# HELP tern_y Y now.\n# TYPE tern_y gauge\ntern_y 3\n");
}

TEST(MetricsText, LabelValuesEscaped) {
  std::string out;
  MetricsText text(&out);
  text.Family("tern_z", MetricType::kGauge, "Z.");
  text.Sample({{"destination", "a\"b\\c\nd"}}, 1);
  EXPECT_NE(out.find("tern_z{destination=\"a\\\"b\\\\c\\nd\"} 1\n"), std::string::npos) << out;
}

TEST(MetricsText, HistogramIsCumulativeWithInfSumAndCount) {
  std::string out;
  MetricsText text(&out);
  text.Family("tern_h_seconds", MetricType::kHistogram, "H.");
  const std::vector<std::string> bounds = {"0.5", "1"};
  const std::vector<uint64_t> counts = {2, 0, 3};
  text.Histogram({{"shard", "0"}}, bounds, counts, "12.000001");
  EXPECT_EQ(out,
            "# HELP tern_h_seconds H.\n# TYPE tern_h_seconds histogram\n"
            "tern_h_seconds_bucket{shard=\"0\",le=\"0.5\"} 2\n"
            "tern_h_seconds_bucket{shard=\"0\",le=\"1\"} 2\n"
            "tern_h_seconds_bucket{shard=\"0\",le=\"+Inf\"} 5\n"
            "tern_h_seconds_sum{shard=\"0\"} 12.000001\n"
            "tern_h_seconds_count{shard=\"0\"} 5\n");
}

TEST(MetricsText, DecimalIsExact) {
  EXPECT_EQ(Decimal(12345678901, 6), "12345.678901");
  EXPECT_EQ(Decimal(0, 6), "0.000000");
  EXPECT_EQ(Decimal(5, 3), "0.005");
  EXPECT_EQ(Decimal(7, 0), "7");
  // 2^53 + 1 micros: a double would lose the last digit.
  EXPECT_EQ(Decimal(9007199254740993, 6), "9007199254.740993");
  EXPECT_EQ(Decimal(UINT64_MAX, 6), "18446744073709.551615");
}

TEST(MetricsText, ShortDecimalDropsTrailingZeros) {
  EXPECT_EQ(ShortDecimal(64, 6), "0.000064");
  EXPECT_EQ(ShortDecimal(1048576, 6), "1.048576");
  EXPECT_EQ(ShortDecimal(2500, 3), "2.5");
  EXPECT_EQ(ShortDecimal(14400000, 3), "14400");
  EXPECT_EQ(ShortDecimal(0, 3), "0");
}

}  // namespace
}  // namespace tern::core
