// LatencyHistogram: bucket bounds, percentiles, merging and deltas.
#include "tools/tern_bench/latency_histogram.h"

#include <memory>

#include "gtest/gtest.h"

namespace tern::tools::tern_bench {
namespace {

TEST(LatencyHistogramTest, BucketsCoverValuesWithinTwoPercent) {
  size_t previous = 0;
  for (int64_t v = 1; v < (int64_t{1} << 40); v = v + v / 7 + 1) {
    const size_t bucket = LatencyHistogram::BucketOf(v);
    EXPECT_GE(bucket, previous);
    previous = bucket;
    const int64_t edge = LatencyHistogram::BucketUpperEdge(bucket);
    EXPECT_GE(edge, v);
    EXPECT_LE(static_cast<double>(edge - v), static_cast<double>(v) / 64.0 + 1) << v;
    EXPECT_LT(bucket, LatencyHistogram::kBuckets);
  }
  EXPECT_EQ(LatencyHistogram::BucketOf(int64_t{1} << 50), LatencyHistogram::kBuckets - 1);
}

TEST(LatencyHistogramTest, Percentiles) {
  auto h = std::make_unique<LatencyHistogram>();
  EXPECT_EQ(h->Percentile(0.99), 0);
  for (int64_t i = 1; i <= 1000; ++i) h->Record(i * 1000);  // 1..1000 us
  EXPECT_EQ(h->count(), 1000u);
  EXPECT_NEAR(static_cast<double>(h->Percentile(0.5)), 500000, 500000 / 64.0 + 1);
  EXPECT_NEAR(static_cast<double>(h->Percentile(0.99)), 990000, 990000 / 64.0 + 1);
  EXPECT_EQ(h->Percentile(1.0), 1000000);  // never above the max
  EXPECT_EQ(h->min(), 1000);
  EXPECT_EQ(h->max(), 1000000);
  EXPECT_DOUBLE_EQ(h->mean(), 500500.0);
}

TEST(LatencyHistogramTest, MergeAndSince) {
  auto a = std::make_unique<LatencyHistogram>();
  auto b = std::make_unique<LatencyHistogram>();
  for (int i = 0; i < 100; ++i) a->Record(1000);
  auto snapshot = std::make_unique<LatencyHistogram>(*a);
  for (int i = 0; i < 10; ++i) a->Record(5000000);
  b->Record(7);
  const auto delta = std::make_unique<LatencyHistogram>(a->Since(*snapshot));
  EXPECT_EQ(delta->count(), 10u);
  EXPECT_GE(delta->Percentile(0.5), 5000000);
  a->Merge(*b);
  EXPECT_EQ(a->count(), 111u);
  EXPECT_EQ(a->min(), 7);
  a->Clear();
  EXPECT_EQ(a->count(), 0u);
  EXPECT_EQ(a->max(), 0);
}

}  // namespace
}  // namespace tern::tools::tern_bench
