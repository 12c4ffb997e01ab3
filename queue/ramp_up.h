// RampUp: how a limit comes back after a suspension or a `set` override ends, in equal
// steps instead of at once ("4 steps over 1h": 25% of the configured rate when the override
// ends, 50% 15 min later, 75% at 30 min, 100% at 45 min; the ramp is over at 1 h).
// Scale() applies a step to the options in force: the message and connection rates (count
// and burst) and the connection limit, each at least 1; unlimited stays unlimited.
//
//   RampUp ramp{.steps = 4, .over = absl::Hours(1)};
//   uint32_t step = ramp.StepAt(now - ended);             // 1..4
//   ShapingOptions now_in_force = RampUp::Scale(configured, step, ramp.steps);
#pragma once

#include <cstdint>

#include "absl/time/time.h"
#include "queue/shaping_options.h"

namespace tern::queue {

struct RampUp {
  static constexpr uint32_t kStepsMax = 1000;

  uint32_t steps = 1;                          // 1..kStepsMax
  absl::Duration over = absl::ZeroDuration();  // > 0

  // The step in force `since_end` after the override ended: 1 at once, `steps` at the end
  // (and after it; before the end, since_end < 0, also 1).
  uint32_t StepAt(absl::Duration since_end) const;
  absl::Duration step_length() const { return over / static_cast<int64_t>(steps); }
  bool valid() const { return steps >= 1 && steps <= kStepsMax && over > absl::ZeroDuration(); }
  bool operator==(const RampUp&) const = default;

  // `options` with rates and connection limit at step/steps of their value.
  static ShapingOptions Scale(const ShapingOptions& options, uint32_t step, uint32_t steps);
};

}  // namespace tern::queue
