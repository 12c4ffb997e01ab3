// The shaping state file: the live overrides and suspensions (queue/shaping_override.h),
// kept next to the spool so that they survive a restart. JSON Lines, one override per line
// after a header line, times as Unix milliseconds (so a restart keeps the time left),
// durations in milliseconds; options hold only the fields set:
//
//   {"tern_shaping_state":1}
//   {"source":"ip2","scope":"provider:google","kind":"suspend","until_unix_ms":1800001800000,
//    "ramp_up":{"steps":4,"over_ms":3600000},"reason":"421 4.7.28
//    ...","cause":"provider.google.automation[0]"}
//   {"source":"","scope":"domain:example.com","kind":"set","until_unix_ms":1800007200000,
//    "options":{"max_message_rate":{"count":100,"period_ms":3600000,"burst":100}},"reason":"","cause":"operator"}
//
// Option keys: connection_limit, max_message_rate, max_connection_rate (each {count,
// period_ms, burst}), max_deliveries_per_connection, retry_schedule, max_queue_lifetime_ms,
// consecutive_connection_failures_before_delay, connection_failure_delay_ms,
// connection_failure_delay_max_ms. Unknown keys are ignored (a newer Tern may add some).
// Decoding refuses the whole file on the first bad line, naming file and line; it never
// crashes and is bounded (kFileBytesMax, kEntriesMax, kLineBytesMax).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "queue/shaping_override.h"

namespace tern::queue {

inline constexpr size_t kShapingStateEntriesMax = 100'000;
inline constexpr size_t kShapingStateLineBytesMax = 16 * 1024;
inline constexpr size_t kShapingStateFileBytesMax = 64 * 1024 * 1024;

std::string EncodeShapingState(const std::vector<ShapingOverride>& overrides);
// The overrides in `text`, dropping those whose end() is at or before `now`. `file_name`
// names the file in errors ("FILE:LINE: what").
absl::StatusOr<std::vector<ShapingOverride>> DecodeShapingState(absl::string_view text,
                                                                absl::string_view file_name,
                                                                absl::Time now);

// Atomically (queue/replace_file.h); mode 0640.
absl::Status SaveShapingState(const std::string& path,
                              const std::vector<ShapingOverride>& overrides);
// A missing file is no state (an empty list), not an error.
absl::StatusOr<std::vector<ShapingOverride>> LoadShapingState(const std::string& path,
                                                              absl::Time now);

}  // namespace tern::queue
