// MetricsPage: what ternd's GET /metrics answers, in the Prometheus text format: every
// shard's counters, gauges and histograms (SMTP server, queue, destinations, spool, and the
// delivery side from tools/ternd/delivery_metrics.h), then the process_* set
// (core/process_stats.h). Runs on the admin thread; counters are read with relaxed loads,
// destinations are asked of each shard.
//
//   std::string body = MetricsPage(shards, shaping);
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "queue/shaping_state.h"
#include "tools/ternd/shard.h"

namespace tern::tools::ternd {

// `shaping` null: no tern_shaping_* families (tools/ternd/shaping_metrics.h).
std::string MetricsPage(const std::vector<std::unique_ptr<Shard>>& shards,
                        queue::ShapingState* shaping = nullptr);

}  // namespace tern::tools::ternd
