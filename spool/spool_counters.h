// SpoolCounters: one shard's spool counters. Written only by the shard's thread, read by any
// thread (metrics, ternctl stats) with relaxed loads: each value is exact, a set of values
// read together is not a snapshot.
//
//   const SpoolCounters& c = spool->counters();
//   uint64_t syncs = c.fdatasyncs.load(std::memory_order_relaxed);
#pragma once

#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>

#include "core/latency_histogram.h"

namespace tern::spool {

// Bucket i of the records-per-commit histogram counts commits of [2^i, 2^(i+1)) records; the
// last bucket also takes everything larger.
inline constexpr size_t kRecordsPerCommitBuckets = 16;

inline size_t RecordsPerCommitBucket(uint64_t records) {
  const size_t bucket = records == 0 ? 0 : static_cast<size_t>(std::bit_width(records)) - 1;
  return bucket < kRecordsPerCommitBuckets ? bucket : kRecordsPerCommitBuckets - 1;
}

// Latency histograms (core/latency_histogram.h), under the spool's names.
using core::kLatencyBuckets;
using core::LatencyBucket;
using core::LatencyBucketBoundMicros;
using core::LatencyHistogram;

struct SpoolCounters {
  std::atomic<uint64_t> records{0};  // records made durable
  std::atomic<uint64_t> bytes{0};    // their bytes
  std::atomic<uint64_t> commits{0};  // successful write (+ fdatasync) sequences
  std::atomic<uint64_t> fdatasyncs{0};
  std::atomic<uint64_t> records_per_commit_sum{0};
  std::array<std::atomic<uint64_t>, kRecordsPerCommitBuckets> records_per_commit_histogram{};
  // Time of each successful commit from its write being submitted to the sync completing
  // (what the disk costs), and of each record from its append to its waiter being told
  // (queueing behind the commit in flight + its own commit).
  LatencyHistogram commit_latency;
  LatencyHistogram record_wait;
  std::atomic<uint64_t> write_errors{0};        // failed commits (write or fdatasync)
  std::atomic<uint64_t> failed_records{0};      // waiters told an error (any cause)
  std::atomic<uint64_t> segments_created{0};    // preallocated and ready
  std::atomic<uint64_t> segments_abandoned{0};  // closed early after a write error
  std::atomic<uint64_t> prepare_errors{0};      // failed segment creations (ENOSPC...)
  // Zero fill ahead of use (--segment_prefill=zero, spool/segment_zero_fill.h).
  std::atomic<uint64_t> segments_prefilled{0};     // zero-filled and synced before their use
  std::atomic<uint64_t> segments_prefill_late{0};  // needed before their zero fill finished
  std::atomic<uint64_t> prefill_errors{0};         // zero fills failed (segment used as is)
  std::atomic<uint64_t> prefill_bytes{0};          // zero bytes written
  // Delivery state and garbage collection.
  std::atomic<uint64_t> state_records{0};            // results and holds made durable
  std::atomic<uint64_t> messages_finished{0};        // left the index: all recipients final
  std::atomic<uint64_t> messages_read{0};            // ReadMessage successes
  std::atomic<uint64_t> read_errors{0};              // ReadMessage failures (I/O, DataLoss)
  std::atomic<uint64_t> segments_deleted{0};         // at recovery and by the GC
  std::atomic<uint64_t> messages_copied_forward{0};  // compaction copies made durable
  std::atomic<uint64_t> bytes_copied_forward{0};
  std::atomic<uint64_t> bytes_reclaimed{0};  // file bytes of deleted segments
  std::atomic<uint64_t> gc_errors{0};        // failed deletions, reads or copies
  // Gauges (set, not added).
  std::atomic<uint64_t> segments_on_disk{0};
  std::atomic<uint64_t> bytes_on_disk{0};  // file sizes of the segments (preallocated)

  static void Add(std::atomic<uint64_t>& counter, uint64_t n) {
    counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  static void Observe(LatencyHistogram& histogram, uint64_t micros) {
    core::ObserveLatency(histogram, micros);
  }
  static void Set(std::atomic<uint64_t>& gauge, uint64_t v) {
    gauge.store(v, std::memory_order_relaxed);
  }
};

}  // namespace tern::spool
