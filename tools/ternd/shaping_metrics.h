// Prometheus families of the traffic shaping (part of GET /metrics, tools/ternd/metrics_page.h):
//   tern_shaping_policy_blocks                 blocks of the policy in force
//   tern_shaping_overrides                     live suspensions and `set` overrides
//   tern_shaping_suspended{scope,source}       1 per active suspension (source "" = every one)
//   tern_site_delayed{site}                    1 per delayed site (dead destination), at most
//                                              kSiteSeriesMax series, the rest counted in
//   tern_site_delayed_omitted
#pragma once

#include <cstddef>

#include "absl/time/time.h"
#include "core/metrics_text.h"
#include "queue/shaping_state.h"

namespace tern::tools::ternd {

inline constexpr size_t kSiteSeriesMax = 1000;

void AppendShapingMetrics(core::MetricsText* text, queue::ShapingState& shaping, absl::Time now);

}  // namespace tern::tools::ternd
