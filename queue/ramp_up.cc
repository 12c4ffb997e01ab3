// Implementation of queue/ramp_up.h.
#include "queue/ramp_up.h"

#include <algorithm>

#include "core/check.h"

namespace tern::queue {
namespace {

uint64_t ScaleCount(uint64_t value, uint32_t step, uint32_t steps) {
  // value ≤ RateSpec::kCountMax (1e9) and step ≤ kStepsMax: no overflow.
  return std::max<uint64_t>(value * step / steps, 1);
}

void ScaleRate(std::optional<RateSpec>& rate, uint32_t step, uint32_t steps) {
  if (!rate.has_value()) return;
  rate->count = ScaleCount(rate->count, step, steps);
  rate->burst = ScaleCount(rate->burst, step, steps);
}

}  // namespace

uint32_t RampUp::StepAt(absl::Duration since_end) const {
  CHECK(valid());
  if (since_end <= absl::ZeroDuration()) return 1;
  const int64_t done = absl::IDivDuration(since_end, step_length(), &since_end);
  return static_cast<uint32_t>(std::min<int64_t>(done + 1, steps));
}

ShapingOptions RampUp::Scale(const ShapingOptions& options, uint32_t step, uint32_t steps) {
  CHECK_GE(step, 1u);
  CHECK_LE(step, steps);
  CHECK_LE(steps, kStepsMax);
  if (step == steps) return options;
  ShapingOptions scaled = options;
  ScaleRate(scaled.max_message_rate, step, steps);
  ScaleRate(scaled.max_connection_rate, step, steps);
  if (scaled.connection_limit.has_value()) {
    scaled.connection_limit =
        static_cast<uint32_t>(ScaleCount(*scaled.connection_limit, step, steps));
  }
  return scaled;
}

}  // namespace tern::queue
