// Tests of the histogram bucketing in spool/spool_counters.h.
#include "spool/spool_counters.h"

#include "gtest/gtest.h"

namespace tern::spool {
namespace {

TEST(SpoolCountersTest, RecordsPerCommitBucketsArePowersOfTwo) {
  EXPECT_EQ(RecordsPerCommitBucket(0), 0u);
  EXPECT_EQ(RecordsPerCommitBucket(1), 0u);
  EXPECT_EQ(RecordsPerCommitBucket(2), 1u);
  EXPECT_EQ(RecordsPerCommitBucket(3), 1u);
  EXPECT_EQ(RecordsPerCommitBucket(32), 5u);
  EXPECT_EQ(RecordsPerCommitBucket(63), 5u);
  EXPECT_EQ(RecordsPerCommitBucket(uint64_t{1} << 40), kRecordsPerCommitBuckets - 1);
}

TEST(SpoolCountersTest, LatencyBucketHoldsDurationsUpToItsBound) {
  EXPECT_EQ(LatencyBucket(0), 0u);
  EXPECT_EQ(LatencyBucket(64), 0u);
  EXPECT_EQ(LatencyBucket(65), 1u);
  EXPECT_EQ(LatencyBucket(128), 1u);
  EXPECT_EQ(LatencyBucket(129), 2u);
  EXPECT_EQ(LatencyBucket(2048), 5u);
  EXPECT_EQ(LatencyBucketBoundMicros(5), 2048u);
  // Every duration lands in the first bucket whose bound holds it.
  for (uint64_t micros = 0; micros < 300'000; micros += 37) {
    const size_t bucket = LatencyBucket(micros);
    ASSERT_LE(micros, LatencyBucketBoundMicros(bucket)) << micros;
    if (bucket > 0) {
      ASSERT_GT(micros, LatencyBucketBoundMicros(bucket - 1)) << micros;
    }
  }
  EXPECT_EQ(LatencyBucket(uint64_t{1} << 40), kLatencyBuckets - 1);
}

TEST(SpoolCountersTest, ObserveCountsAndSums) {
  SpoolCounters counters;
  SpoolCounters::Observe(counters.commit_latency, 100);
  SpoolCounters::Observe(counters.commit_latency, 5000);
  EXPECT_EQ(counters.commit_latency.buckets[1].load(), 1u);
  EXPECT_EQ(counters.commit_latency.buckets[7].load(), 1u);  // (4096, 8192]
  EXPECT_EQ(counters.commit_latency.sum_micros.load(), 5100u);
}

}  // namespace
}  // namespace tern::spool
