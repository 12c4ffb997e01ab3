// Prometheus families of the delivery side of every shard (part of GET /metrics,
// tools/ternd/metrics_page.h): the delivery agent's counters, gauges and delay histogram
// (tern_delivery_*), the outbound SMTP client's (tern_client_*) and the DNS resolver's
// (tern_dns_*).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/metrics_text.h"
#include "tools/ternd/shard.h"

namespace tern::tools::ternd {

void AppendDeliveryMetrics(core::MetricsText* text,
                           const std::vector<std::unique_ptr<Shard>>& shards);

}  // namespace tern::tools::ternd
