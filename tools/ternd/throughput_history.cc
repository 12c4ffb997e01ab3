// Implementation of tools/ternd/throughput_history.h.
#include "tools/ternd/throughput_history.h"

#include <cmath>

namespace tern::tools::ternd {

void ThroughputHistory::MaybeSample(absl::Time now, const std::function<ThroughputSample()>& take) {
  if (!samples_.empty() && now - samples_.back().time < kPeriod) return;
  ThroughputSample sample = take();
  sample.time = now;
  if (samples_.size() == kSamplesMax) samples_.pop_front();
  samples_.push_back(sample);
}

Rates ThroughputHistory::RatesOver(absl::Duration window) const {
  Rates rates;
  if (samples_.size() < 2) return rates;
  const ThroughputSample& last = samples_.back();
  const ThroughputSample* first = &samples_.front();
  for (auto it = samples_.rbegin(); it != samples_.rend(); ++it) {
    first = &*it;
    if (last.time - it->time >= window) break;
  }
  const double seconds = absl::ToDoubleSeconds(last.time - first->time);
  if (seconds <= 0) return rates;
  auto per_second = [&](uint64_t a, uint64_t b) {
    return b >= a ? static_cast<double>(b - a) / seconds : 0.0;
  };
  rates.accepted = per_second(first->accepted, last.accepted);
  rates.delivered = per_second(first->delivered, last.delivered);
  rates.deferred = per_second(first->deferred, last.deferred);
  rates.bounced = per_second(first->bounced, last.bounced);
  rates.window_seconds = static_cast<int>(std::lround(seconds));
  return rates;
}

}  // namespace tern::tools::ternd
