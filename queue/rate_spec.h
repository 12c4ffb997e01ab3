// RateSpec: a rate limit as operators write it in the shaping policy, "N/period" with an
// optional burst: "2000/s", "3000/min", "500/day", "600/min,max_burst=1". Period units: ms,
// s, sec, m, min, h, hour, day (a bare unit is one of it; "N/5min" and "N/5m" are allowed). The
// burst is how many may go at once after a quiet spell; it defaults to N. Enforced as GCRA
// (queue/throttle_cell.h): one every period/N, at most `burst` ahead of that pace.
//
//   ASSIGN_OR_RETURN(RateSpec r, RateSpec::Parse("600/min,max_burst=1"));
//   r.emission_interval() == absl::Milliseconds(100);
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace tern::queue {

struct RateSpec {
  static constexpr uint64_t kCountMax = 1'000'000'000;
  uint64_t count = 0;                        // N per period, 1..kCountMax
  absl::Duration period = absl::Seconds(1);  // 1 ms .. 366 days
  uint64_t burst = 0;                        // 1..kCountMax; Parse sets it to N when not given

  // InvalidArgument naming what is wrong ("bad rate 'x': ...") for anything else: zero or
  // negative counts, unknown units, a burst of 0, trailing text.
  static absl::StatusOr<RateSpec> Parse(absl::string_view text);

  // The time between two at the steady pace (period / count), at least 1 µs.
  absl::Duration emission_interval() const {
    const absl::Duration d = period / static_cast<int64_t>(count == 0 ? 1 : count);
    return d < absl::Microseconds(1) ? absl::Microseconds(1) : d;
  }
  // Back to the policy syntax ("600/min,max_burst=1"; the burst is written only when it
  // differs from the count).
  std::string ToString() const;
  bool operator==(const RateSpec&) const = default;
};

}  // namespace tern::queue
