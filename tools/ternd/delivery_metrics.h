// Prometheus text for the delivery side of every shard: the delivery agent's counters and
// gauges, the outbound SMTP client's, and the DNS resolver's (part of GET /metrics).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/metrics_text.h"
#include "tools/ternd/shard.h"

namespace tern::ternd {

void AppendDeliveryMetrics(core::MetricsText* text,
                           const std::vector<std::unique_ptr<Shard>>& shards);

}  // namespace tern::ternd
