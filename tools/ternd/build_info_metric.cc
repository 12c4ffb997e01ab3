// Implementation of tools/ternd/build_info_metric.h.
#include "tools/ternd/build_info_metric.h"

#include "core/build_info.h"
#include "core/metrics_text.h"

namespace tern::tools::ternd {

void AppendBuildInfoMetric(absl::string_view version, absl::string_view revision,
                           std::string* out) {
  core::MetricsText text(out);
  text.Family("tern_build_info", core::MetricType::kGauge,
              "The running ternd's version and source revision (always 1).");
  text.Sample({{"version", version}, {"revision", revision}}, 1);
}

void AppendBuildInfoMetric(std::string* out) {
  AppendBuildInfoMetric(core::BuildVersion(), core::BuildRevision(), out);
}

}  // namespace tern::tools::ternd
