// ParsePositiveDuration: the durations operators type on command lines ("30s", "5m",
// "1h30m", "5d", "2w"): abseil's duration syntax plus whole days (1d to 3650d) and weeks
// (1w to 521w), which abseil lacks. One parser for ternd's flags (--max_queue_lifetime,
// --retry_schedule steps) and ternctl's (--min_age, --max_age, hold --duration, report's
// --since and --until).
//
//   absl::StatusOr<absl::Duration> d = core::ParsePositiveDuration("2d");  // 48h
//   if (!d.ok()) Complain(d.status().message());  // "bad duration 'x' (examples: ...)"
#pragma once

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace tern::core {

// InvalidArgument for anything but a finite duration greater than zero. Surrounding
// whitespace is ignored.
absl::StatusOr<absl::Duration> ParsePositiveDuration(absl::string_view text);

}  // namespace tern::core
