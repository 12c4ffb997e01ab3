// DeliveryCounters: one shard's delivery agent counters. Written by the shard's thread
// (relaxed atomic adds), read by the metrics thread; no ordering is implied.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "delivery/bounce_class.h"

namespace tern::delivery {

// The results that carry a bounce class (tern_delivery_recipients_total{result,class}).
enum class FailedResult : uint8_t { kDeferred, kBounced, kExpired };
inline constexpr size_t kFailedResultCount = 3;

// Seconds from a message's arrival to a recipient's delivery: bucket i counts delays of at
// most kDeliveryDelayBoundsSeconds[i]; the last bucket (+Inf) everything longer.
inline constexpr std::array<double, 13> kDeliveryDelayBoundsSeconds = {
    0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600, 14400};
inline constexpr size_t kDeliveryDelayBuckets = kDeliveryDelayBoundsSeconds.size() + 1;

inline size_t DeliveryDelayBucket(double seconds) {
  for (size_t i = 0; i < kDeliveryDelayBoundsSeconds.size(); ++i) {
    if (seconds <= kDeliveryDelayBoundsSeconds[i]) return i;
  }
  return kDeliveryDelayBuckets - 1;
}

struct DeliveryCounters {
  std::atomic<uint64_t> messages_scheduled{0};  // a delivery attempt of a message began
  std::atomic<uint64_t> transactions{0};        // SMTP transactions completed (any result)
  std::atomic<uint64_t> recipients_delivered{0};
  std::atomic<uint64_t> recipients_deleted{0};              // by the operator (ternctl delete)
  std::atomic<uint64_t> recipients_bounced_by_operator{0};  // ternctl bounce
  std::atomic<uint64_t> dsns_queued{0};                     // bounces spooled to senders
  // Recipients on the suppression list, not sent (bounced, or dropped in drop mode).
  std::atomic<uint64_t> recipients_suppressed{0};
  // Hard bounces put on the suppression list, and those that could not be (logged).
  std::atomic<uint64_t> suppressions_added{0};
  std::atomic<uint64_t> suppression_feed_failures{0};
  std::atomic<uint64_t> connections_opened{0};  // TCP connections that reached EHLO
  std::atomic<uint64_t> connections_reused{0};  // parked connections continued here
  // Idle connections passed between lanes of domains sharing a site (MX rollup).
  std::atomic<uint64_t> connections_lent{0};
  // Connections parked for another shard waiting for the destination (its fair share).
  std::atomic<uint64_t> connections_yielded{0};
  // Idle connections closed for another site waiting for a limit they share (an egress
  // source's or a provider's connection_limit).
  std::atomic<uint64_t> connections_freed{0};
  std::atomic<uint64_t> dkim_signed{0};  // messages sent with a DKIM-Signature
  // Stored messages read for delivery, and jobs given another job's read of the same
  // attempt instead (delivery/message_reads.h).
  std::atomic<uint64_t> message_reads{0};
  std::atomic<uint64_t> message_reads_shared{0};
  std::atomic<uint64_t> message_reads_ahead{0};      // of message_reads: for a lane's next job
  std::atomic<uint64_t> connect_failures{0};         // TCP, greeting or EHLO failed
  std::atomic<uint64_t> results_record_failures{0};  // the spool could not record a result
  std::atomic<uint64_t> site_delays{0};              // a site was delayed after connection failures
  // Jobs deferred without a connection because their site was delayed.
  std::atomic<uint64_t> jobs_deferred_site_delayed{0};
  // Delivered recipients by delay since the message arrived (kDeliveryDelayBoundsSeconds).
  std::array<std::atomic<uint64_t>, kDeliveryDelayBuckets> delivery_delay_histogram{};
  std::atomic<uint64_t> delivery_delay_sum_ms{0};
  // Failed recipients (deferred, bounced, expired) by result and bounce class; Failures()
  // sums a result's classes.
  std::array<std::array<std::atomic<uint64_t>, kBounceClassCount>, kFailedResultCount>
      failures_by_class{};
  // Gauges (stored, not added).
  std::atomic<uint64_t> active_connections{0};
  std::atomic<uint64_t> active_messages{0};  // messages with a delivery in progress
  std::atomic<uint64_t> waiting_retry{0};    // messages waiting for their next attempt

  std::atomic<uint64_t>& FailuresOf(FailedResult result, BounceClass bounce_class) {
    return failures_by_class[static_cast<size_t>(result)][static_cast<size_t>(bounce_class)];
  }
  // Recipients deferred, bounced or expired (every class; relaxed loads).
  uint64_t Failures(FailedResult result) const {
    uint64_t sum = 0;
    for (const auto& count : failures_by_class[static_cast<size_t>(result)]) {
      sum += count.load(std::memory_order_relaxed);
    }
    return sum;
  }
  const std::atomic<uint64_t>& FailuresOf(FailedResult result, BounceClass bounce_class) const {
    return failures_by_class[static_cast<size_t>(result)][static_cast<size_t>(bounce_class)];
  }

  static void Add(std::atomic<uint64_t>& counter, uint64_t n = 1) {
    counter.fetch_add(n, std::memory_order_relaxed);
  }
  static void Set(std::atomic<uint64_t>& gauge, uint64_t v) {
    gauge.store(v, std::memory_order_relaxed);
  }
};

}  // namespace tern::delivery
