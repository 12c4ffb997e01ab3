// The admin endpoint's live status page: GET / serves one self-contained HTML page (inline
// CSS and JavaScript, no external assets) that polls GET /status.json every two seconds and
// draws throughput and queue over the last minutes as canvas charts with a time axis (ticks
// labelled in the browser's local time), the busiest destinations with their state, one row
// per destination summed over the shards (a "per shard" toggle asks /status.json?shards=1
// for the split), the latest deferrals and bounces, identical failures (same
// destination, same reply pattern) grouped on one row with their count, and the traffic
// shaping's active suspensions and overrides and its delayed sites.
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
#include "tools/ternd/shaping_report.h"
#include "tools/ternd/status_summary.h"
#include "tools/ternd/throughput_history.h"

namespace tern::tools::ternd {

absl::string_view StatusPageHtml();

// {"now":..,"samples":[{"t":..,"accepted":..,..}],
//  "destinations":[{"destination":..,"shards":N,"pending_jobs":..,..,"last_error":..,
//                   "per_shard":[{"shard":..,..}] (with per_shard only)}],
//  "failures":[{"destination":..,"pattern":..,"count":N,"last_time":..,"result":..,
//               "reply":..,"recipient":..,"id":..}],
//  "overrides":[{"scope":..,"source":..,"kind":..,"until":..,"left":..,"reason":..,"cause":..}],
//  "delayed_sites":[{"site":..,"until":..,"failures":N,"last_failure":..}]}
// (at most kShapingRowsShown of each; `shaping` null: both empty).
inline constexpr size_t kShapingRowsShown = 50;
std::string StatusJson(const ThroughputHistory& history, const std::vector<ShardStatus>& shards,
                       absl::Time now, bool per_shard, const ShapingReport* shaping = nullptr);

}  // namespace tern::tools::ternd
