// Prometheus text for the delivery side of every shard: the delivery agent's counters and
// gauges, the outbound SMTP client's, and the DNS resolver's (part of GET /metrics).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tools/ternd/shard.h"

namespace tern::ternd {

void AppendDeliveryMetrics(std::string* out, const std::vector<std::unique_ptr<Shard>>& shards);

}  // namespace tern::ternd
