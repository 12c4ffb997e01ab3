// ThrottleCell: one GCRA (generic cell rate algorithm) limiter, shared by every shard that
// sends through its scope. Its whole state is one atomic "theoretical arrival time" (TAT, in
// nanoseconds since the Unix epoch): the moment the bucket would be full again. A take moves
// the TAT one emission interval (RateSpec::emission_interval()) later, starting from now if
// the TAT is in the past; a take is allowed while the TAT stays within the burst window
// (burst × interval) of now. No lock, no system call: one compare-and-swap loop. `now` is
// passed in, so tests use fake time.
//
// The RateSpec is passed to every call, not stored: a policy change (file reload, automation
// override, ramp-up step) keeps the cell's state, so a lower rate never releases a fresh full
// burst. When the new burst window is much shorter than the debt the cell carries (a rate
// raised after a slow one drained the bucket), the debt is cut to the new window: the bucket
// counts as empty under the new rate, the next take waits one interval. The cut happens only
// beyond kWindowSlack, so shards whose clocks differ by less than that never cut each
// other's state (which would grant more than the rate).
//
//   ThrottleCell cell;
//   RateSpec rate{.count = 600, .period = absl::Minutes(1), .burst = 1};
//   absl::Duration wait = cell.TryTake(now, rate);
//   if (wait == absl::ZeroDuration()) { ... send ... } else { ... retry after `wait` ... }
//   cell.GiveBack(rate);  // undo one take when a later limit refused (queue/throttle_path.h)
#pragma once

#include <atomic>
#include <cstdint>

#include "absl/time/time.h"
#include "queue/rate_spec.h"

namespace tern::queue {

class ThrottleCell {
 public:
  // A cut of the carried debt to a new, shorter burst window happens only when the debt
  // exceeds the window by more than this (see above).
  static constexpr int64_t kWindowSlackNs = 1'000'000'000;
  // The burst window (burst × interval) is capped at this, so the arithmetic cannot overflow
  // (RateSpec allows bursts far above the count).
  static constexpr int64_t kWindowMaxNs = int64_t{400} * 24 * 3600 * 1'000'000'000;

  ThrottleCell() = default;
  ThrottleCell(const ThrottleCell&) = delete;
  ThrottleCell& operator=(const ThrottleCell&) = delete;

  // A RateSpec in the form the cell computes with (interval and burst window in ns). The
  // RateSpec overloads convert on every call; ThrottlePath keeps a Pace per step, so the
  // per-message path does no division.
  struct Pace {
    int64_t interval_ns = 1;  // > 0
    int64_t window_ns = 1;    // burst × interval, ≤ kWindowMaxNs
    static Pace Of(const RateSpec& rate);
  };

  // How long until one take would be allowed (zero: now). Changes nothing.
  absl::Duration Check(absl::Time now, const Pace& pace) const;
  // Takes one when allowed (returns zero); otherwise returns the wait and changes nothing,
  // except for storing a cut of old debt to the current window (see above).
  absl::Duration TryTake(absl::Time now, const Pace& pace);
  // Undoes one take made with `pace` (a later limit on the path refused). Best effort under
  // a rate change in between: it moves the TAT back by one current interval.
  void GiveBack(const Pace& pace);
  // Takes available at once at `now` (0 when the next one must wait), for `ternctl shaping`.
  uint64_t Available(absl::Time now, const Pace& pace) const;

  absl::Duration Check(absl::Time now, const RateSpec& rate) const {
    return Check(now, Pace::Of(rate));
  }
  absl::Duration TryTake(absl::Time now, const RateSpec& rate) {
    return TryTake(now, Pace::Of(rate));
  }
  void GiveBack(const RateSpec& rate) { GiveBack(Pace::Of(rate)); }
  uint64_t Available(absl::Time now, const RateSpec& rate) const {
    return Available(now, Pace::Of(rate));
  }
  // True when the bucket is full at `now` (the cell is as if new: it may be forgotten).
  bool Full(absl::Time now) const;

 private:
  struct Step {
    int64_t start_ns;    // the TAT the take starts from (after a cut of the debt)
    int64_t new_tat_ns;  // the TAT after a take
    int64_t wait_ns;     // > 0: refused, wait this long
    bool cut;            // the debt was cut to the window (stored even when refused)
  };
  static Step Compute(int64_t tat_ns, int64_t now_ns, const Pace& pace);

  // 0 (the epoch): a full bucket.
  std::atomic<int64_t> tat_ns_{0};
};

}  // namespace tern::queue
