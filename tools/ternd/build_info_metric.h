// The tern_build_info gauge of /metrics: the running version and source revision as
// labels, value 1 (Prometheus' *_info convention), so dashboards can join on it.
//
//   std::string out;
//   AppendBuildInfoMetric(&out);
//   // # HELP tern_build_info ...
//   // # TYPE tern_build_info gauge
//   // tern_build_info{version="0.15.0",revision="36d41fc"} 1
#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace tern::tools::ternd {

// Appends the metric (HELP, TYPE and the sample) for this build.
void AppendBuildInfoMetric(std::string* out);
// The same for any version and revision (label values escaped as Prometheus requires).
void AppendBuildInfoMetric(absl::string_view version, absl::string_view revision, std::string* out);

}  // namespace tern::tools::ternd
