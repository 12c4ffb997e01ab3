// The admin endpoint's live status page: GET / serves one self-contained HTML page (inline
// CSS and JavaScript, no external assets) that polls GET /status.json every two seconds and
// draws throughput and queue over the last minutes as canvas charts with a time axis (ticks
// labelled in the browser's local time), the busiest destinations with their state, one row
// per destination summed over the shards (a "per shard" toggle asks /status.json?shards=1
// for the split), and the latest deferrals and bounces, identical failures (same
// destination, same reply pattern) grouped on one row with their count.
//
// After each redraw the page records what it drew on the elements (data-points: samples
// plotted, data-max: the largest value, data-inked: pixels its lines painted, data-ticks:
// the time axis labels), so a browser can check that the charts render real data
// (tests/integration/test_status_page.py).
#pragma once

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "delivery/delivery_agent.h"
#include "tools/ternd/status_summary.h"
#include "tools/ternd/throughput_history.h"

namespace tern::ternd {

absl::string_view StatusPageHtml();

// {"now":..,"samples":[{"t":..,"accepted":..,..}],
//  "destinations":[{"destination":..,"shards":N,"pending_jobs":..,..,"last_error":..,
//                   "per_shard":[{"shard":..,..}] (with per_shard only)}],
//  "failures":[{"destination":..,"pattern":..,"count":N,"last_time":..,"result":..,
//               "reply":..,"recipient":..,"id":..}]}
std::string StatusJson(const ThroughputHistory& history, const std::vector<ShardStatus>& shards,
                       absl::Time now, bool per_shard);

}  // namespace tern::ternd
