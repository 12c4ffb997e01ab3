// `ternctl report`: the sending and delivery-error report of a time window, read directly
// from ternd's delivery log and its rotated files (no running ternd needed).
//
//   ternctl report [--since=24h] [--until=TIME] [--json] [--delivery_log=FILE] [--top=N]
//
// --since and --until take a duration before now ("24h", "90m", "7d") or a time
// ("2026-12-06T00:00:00Z", "2026-12-06" for midnight UTC). Without --delivery_log the file
// is /var/log/tern/delivery.jsonl when it exists (the packaged layout), else ternd's
// default var/log/delivery.jsonl.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace tern::tools::ternctl {

inline constexpr absl::string_view kInstalledDeliveryLog = "/var/log/tern/delivery.jsonl";
inline constexpr absl::string_view kDefaultDeliveryLog = "var/log/delivery.jsonl";

// Runs the command with its flags; `json` is ternctl's --json. Returns the exit code.
int RunReport(bool json);

// "24h", "90m", "45s", "7d", "2w" (before `now`), RFC 3339 times, or "YYYY-MM-DD" (UTC).
absl::StatusOr<absl::Time> ParseReportTime(absl::string_view text, absl::Time now);

std::string DefaultDeliveryLogPath();

}  // namespace tern::tools::ternctl
