// ThroughputHistory: the admin endpoint's memory of the last 15 minutes, one sample a
// second of the shards' totals (accepted, delivered, deferred, bounced, queue, connections).
// `ternctl stats` derives its rates from it and the status page draws its charts from it.
// Used by the admin thread only (sampled from AdminServer's tick), so unsynchronized.
//
//   history.MaybeSample(now, [&] { return SumOverShards(); });
//   Rates r = history.RatesOver(absl::Seconds(60));
#pragma once

#include <cstdint>
#include <deque>
#include <functional>

#include "absl/time/time.h"
#include "tools/ternd/queue_report.h"

namespace tern::tools::ternd {

struct ThroughputSample {
  absl::Time time;
  uint64_t accepted = 0;  // totals since start
  uint64_t delivered = 0;
  uint64_t deferred = 0;
  uint64_t bounced = 0;
  uint64_t queue_messages = 0;  // gauges
  uint64_t queue_bytes = 0;
  uint64_t smtp_connections = 0;
  uint64_t outbound_connections = 0;
};

class ThroughputHistory {
 public:
  static constexpr absl::Duration kPeriod = absl::Seconds(1);
  static constexpr size_t kSamplesMax = 900;

  // Takes a sample from `take` when a period has passed since the last one.
  void MaybeSample(absl::Time now, const std::function<ThroughputSample()>& take);
  // Per-second rates between the newest sample and the one `window` before it (or the
  // oldest); window_seconds 0 with fewer than two samples.
  Rates RatesOver(absl::Duration window) const;
  const std::deque<ThroughputSample>& samples() const { return samples_; }

 private:
  std::deque<ThroughputSample> samples_;
};

}  // namespace tern::tools::ternd
