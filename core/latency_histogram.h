// LatencyHistogram: durations counted in power-of-two buckets of microseconds, written by
// one thread (relaxed stores), read by the metrics thread at any time. Bucket i counts
// durations of at most 2^(i+6) us (64 us, 128 us, ... ~1.05 s); the last bucket also takes
// everything longer. The spool's commit latency and the SMTP accept latency use it.
//
//   LatencyHistogram h;
//   ObserveLatency(h, micros);
//   Export: bucket i's bound LatencyBucketBoundMicros(i), h.buckets[i], h.sum_micros.
#pragma once

#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace tern::core {

inline constexpr size_t kLatencyBuckets = 15;

inline uint64_t LatencyBucketBoundMicros(size_t bucket) { return uint64_t{64} << bucket; }

inline size_t LatencyBucket(uint64_t micros) {
  const uint64_t above = micros <= 64 ? 0 : (micros - 1) >> 6;  // bucket 0 holds <= 64 us
  const size_t bucket = static_cast<size_t>(std::bit_width(above));
  return bucket < kLatencyBuckets ? bucket : kLatencyBuckets - 1;
}

struct LatencyHistogram {
  std::array<std::atomic<uint64_t>, kLatencyBuckets> buckets{};
  std::atomic<uint64_t> sum_micros{0};
};

// Single writer: a load and a store, no read-modify-write.
inline void ObserveLatency(LatencyHistogram& histogram, uint64_t micros) {
  std::atomic<uint64_t>& bucket = histogram.buckets[LatencyBucket(micros)];
  bucket.store(bucket.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  histogram.sum_micros.store(histogram.sum_micros.load(std::memory_order_relaxed) + micros,
                             std::memory_order_relaxed);
}

}  // namespace tern::core
