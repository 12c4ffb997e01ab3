// LatencyHistogram: a log-linear histogram of durations in nanoseconds (HdrHistogram's
// idea, at 1/64 precision: every value lands in a bucket at most ~1.6% wider than itself),
// from 1 ns to ~1100 s, fixed size, no allocation after construction. tern-bench keeps one
// per phase and thread and merges them for the summary.
//
// Buckets are relaxed atomics so that a reporter thread may read a histogram while its
// owner thread records (one progress line a second); only the owner writes.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace tern::tools::tern_bench {

class LatencyHistogram {
 public:
  static constexpr int kSubBucketBits = 6;  // 64 sub-buckets per power of two
  static constexpr int kMaxExponent = 40;   // 2^40 ns ~ 1100 s; longer values clamp
  static constexpr size_t kBuckets = (kMaxExponent + 1) << kSubBucketBits;

  LatencyHistogram() = default;
  LatencyHistogram(const LatencyHistogram& other) { Merge(other); }
  LatencyHistogram& operator=(const LatencyHistogram& other);

  // Owner thread only.
  void Record(int64_t nanoseconds);
  void Clear();

  // Any thread.
  void Merge(const LatencyHistogram& other);
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  int64_t max() const { return max_.load(std::memory_order_relaxed); }
  int64_t min() const;
  double mean() const;
  // The value at or under which `quantile` (0..1) of the recorded values lie; the upper
  // edge of the bucket (never under the true value); 0 when empty.
  int64_t Percentile(double quantile) const;
  // `this` minus `earlier` (an older copy of the same histogram): what was recorded since.
  LatencyHistogram Since(const LatencyHistogram& earlier) const;

  static size_t BucketOf(int64_t nanoseconds);
  static int64_t BucketUpperEdge(size_t bucket);

 private:
  std::array<std::atomic<uint64_t>, kBuckets> buckets_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<int64_t> sum_{0};
  std::atomic<int64_t> min_{INT64_MAX};
  std::atomic<int64_t> max_{0};
};

}  // namespace tern::tools::tern_bench
