// Implementation of tools/ternd/suppression_metrics.h.
#include "tools/ternd/suppression_metrics.h"

#include <cstdint>

namespace tern::tools::ternd {

void AppendSuppressionMetrics(core::MetricsText* text, const suppression::SuppressionList* list) {
  if (list == nullptr) return;
  text->Family("tern_suppression_entries", core::MetricType::kGauge,
               "Entries on the suppression list, by reason.");
  for (int i = 0; i < suppression::kReasonCount; ++i) {
    const auto reason = static_cast<suppression::Reason>(i + 1);
    text->Sample({{"reason", suppression::ReasonName(reason)}},
                 static_cast<uint64_t>(list->index().count(reason)));
  }
}

}  // namespace tern::tools::ternd
