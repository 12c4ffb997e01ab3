// The admin endpoint's live status page: GET / serves one self-contained HTML page (inline
// CSS and JavaScript, no external assets) that polls GET /status.json every two seconds and
// draws throughput and queue over the last minutes as canvas charts, the busiest
// destinations with their state, and the latest deferrals and bounces.
//
// After each redraw the page records what it drew on the elements (data-points: samples
// plotted, data-max: the largest value, data-inked: pixels its lines painted), so a browser
// can check that the charts render real data (tests/integration/test_status_page.py).
#pragma once

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "delivery/delivery_agent.h"
#include "tools/ternd/throughput_history.h"

namespace tern::ternd {

absl::string_view StatusPageHtml();

// What one shard contributes to /status.json.
struct ShardStatus {
  int shard = 0;
  std::vector<delivery::DeliveryAgent::DestinationStats> destinations;
  std::vector<delivery::DeliveryAgent::RecentFailure> recent;
};

// {"now":..,"samples":[{"t":..,"accepted":..,..}],"destinations":[..],"recent":[..]}
std::string StatusJson(const ThroughputHistory& history, const std::vector<ShardStatus>& shards,
                       absl::Time now);

}  // namespace tern::ternd
