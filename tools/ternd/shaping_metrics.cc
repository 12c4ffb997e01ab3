// Implementation of tools/ternd/shaping_metrics.h.
#include "tools/ternd/shaping_metrics.h"

#include <vector>

namespace tern::tools::ternd {

void AppendShapingMetrics(core::MetricsText* text, queue::ShapingState& shaping, absl::Time now) {
  constexpr core::MetricType kGauge = core::MetricType::kGauge;
  text->Family("tern_shaping_policy_blocks", kGauge,
               "Blocks of the shaping policy in force (--shaping; 0: built-in defaults).");
  text->Sample({}, shaping.policy()->block_count());
  const std::vector<queue::ShapingOverride> overrides = shaping.overrides().List(now);
  text->Family("tern_shaping_overrides", kGauge,
               "Live suspensions and set overrides (automation rules and ternctl suspend).");
  text->Sample({}, overrides.size());
  text->Family("tern_shaping_suspended", kGauge,
               "1 per active suspension, by scope key and egress source (\"\": every source).");
  for (const queue::ShapingOverride& entry : overrides) {
    if (entry.kind != queue::ShapingOverride::Kind::kSuspend || entry.until <= now) continue;
    text->Sample({{"scope", entry.scope}, {"source", entry.source}}, uint64_t{1});
  }
  text->Family("tern_site_delayed", kGauge,
               "1 per site delayed after consecutive connection failures (at most 1000 series).");
  size_t exported = 0;
  size_t omitted = 0;
  for (const queue::SiteHealth::Snapshot& site : shaping.site_health().Troubled()) {
    if (!site.delayed || site.delayed_until <= now) continue;
    if (exported == kSiteSeriesMax) {
      ++omitted;
      continue;
    }
    ++exported;
    text->Sample({{"site", site.key}}, uint64_t{1});
  }
  text->Family("tern_site_delayed_omitted", kGauge,
               "Delayed sites beyond the tern_site_delayed series exported.");
  text->Sample({}, omitted);
}

}  // namespace tern::tools::ternd
