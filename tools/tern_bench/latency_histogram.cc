// LatencyHistogram: log-linear duration histogram (latency_histogram.h).
#include "tools/tern_bench/latency_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace tern::tools::tern_bench {
namespace {
constexpr auto kRelaxed = std::memory_order_relaxed;
}  // namespace

LatencyHistogram& LatencyHistogram::operator=(const LatencyHistogram& other) {
  if (this != &other) {
    Clear();
    Merge(other);
  }
  return *this;
}

size_t LatencyHistogram::BucketOf(int64_t nanoseconds) {
  const uint64_t v = nanoseconds < 1 ? 1 : static_cast<uint64_t>(nanoseconds);
  const int top = 63 - std::countl_zero(v);                 // floor(log2 v)
  if (top < kSubBucketBits) return static_cast<size_t>(v);  // exact below 64 ns
  if (top > kMaxExponent) return kBuckets - 1;
  const uint64_t sub = (v >> (top - kSubBucketBits)) & ((1u << kSubBucketBits) - 1);
  return (static_cast<size_t>(top - kSubBucketBits + 1) << kSubBucketBits) + sub;
}

int64_t LatencyHistogram::BucketUpperEdge(size_t bucket) {
  if (bucket < (size_t{1} << kSubBucketBits)) return static_cast<int64_t>(bucket);
  const size_t group = bucket >> kSubBucketBits;  // top - kSubBucketBits + 1
  const size_t sub = bucket & ((size_t{1} << kSubBucketBits) - 1);
  const int shift = static_cast<int>(group) - 1;
  const uint64_t base = (uint64_t{1} << kSubBucketBits | sub) << shift;
  return static_cast<int64_t>(base + ((uint64_t{1} << shift) - 1));
}

void LatencyHistogram::Record(int64_t nanoseconds) {
  if (nanoseconds < 0) nanoseconds = 0;
  buckets_[BucketOf(nanoseconds)].fetch_add(1, kRelaxed);
  count_.fetch_add(1, kRelaxed);
  sum_.fetch_add(nanoseconds, kRelaxed);
  if (nanoseconds < min_.load(kRelaxed)) min_.store(nanoseconds, kRelaxed);
  if (nanoseconds > max_.load(kRelaxed)) max_.store(nanoseconds, kRelaxed);
}

void LatencyHistogram::Clear() {
  for (auto& b : buckets_) b.store(0, kRelaxed);
  count_.store(0, kRelaxed);
  sum_.store(0, kRelaxed);
  min_.store(INT64_MAX, kRelaxed);
  max_.store(0, kRelaxed);
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (size_t i = 0; i < kBuckets; ++i) {
    const uint64_t n = other.buckets_[i].load(kRelaxed);
    if (n != 0) buckets_[i].fetch_add(n, kRelaxed);
  }
  count_.fetch_add(other.count_.load(kRelaxed), kRelaxed);
  sum_.fetch_add(other.sum_.load(kRelaxed), kRelaxed);
  min_.store(std::min(min_.load(kRelaxed), other.min_.load(kRelaxed)), kRelaxed);
  max_.store(std::max(max_.load(kRelaxed), other.max_.load(kRelaxed)), kRelaxed);
}

int64_t LatencyHistogram::min() const {
  const int64_t m = min_.load(kRelaxed);
  return m == INT64_MAX ? 0 : m;
}

double LatencyHistogram::mean() const {
  const uint64_t n = count();
  return n == 0 ? 0.0 : static_cast<double>(sum_.load(kRelaxed)) / static_cast<double>(n);
}

int64_t LatencyHistogram::Percentile(double quantile) const {
  uint64_t total = 0;
  for (const auto& b : buckets_) total += b.load(kRelaxed);
  if (total == 0) return 0;
  quantile = std::clamp(quantile, 0.0, 1.0);
  const uint64_t rank = std::max<uint64_t>(
      1, static_cast<uint64_t>(std::ceil(quantile * static_cast<double>(total))));
  uint64_t seen = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    seen += buckets_[i].load(kRelaxed);
    if (seen >= rank) return std::min(BucketUpperEdge(i), max());
  }
  return max();
}

LatencyHistogram LatencyHistogram::Since(const LatencyHistogram& earlier) const {
  LatencyHistogram delta;
  uint64_t count = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    const uint64_t now = buckets_[i].load(kRelaxed);
    const uint64_t then = earlier.buckets_[i].load(kRelaxed);
    const uint64_t n = now > then ? now - then : 0;
    delta.buckets_[i].store(n, kRelaxed);
    count += n;
    if (n != 0) {
      delta.max_.store(std::max(delta.max_.load(kRelaxed), BucketUpperEdge(i)), kRelaxed);
      if (delta.min_.load(kRelaxed) == INT64_MAX) delta.min_.store(BucketUpperEdge(i), kRelaxed);
    }
  }
  delta.count_.store(count, kRelaxed);
  delta.sum_.store(sum_.load(kRelaxed) - earlier.sum_.load(kRelaxed), kRelaxed);
  return delta;
}

}  // namespace tern::tools::tern_bench
