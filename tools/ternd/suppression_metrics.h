// AppendSuppressionMetrics: the tern_suppression_entries gauge of GET /metrics: entries on
// the suppression list by reason (expired entries count until they are swept).
//
//   AppendSuppressionMetrics(&text, list);
#pragma once

#include "core/metrics_text.h"
#include "suppression/suppression_list.h"

namespace tern::tools::ternd {

// `list` null: nothing written.
void AppendSuppressionMetrics(core::MetricsText* text, const suppression::SuppressionList* list);

}  // namespace tern::tools::ternd
