// Implementation of tools/ternctl/report_command.h.
#include "tools/ternctl/report_command.h"

#include <sys/stat.h>

#include <cstdio>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "core/duration_text.h"
#include "tools/ternctl/delivery_log_reader.h"
#include "tools/ternctl/delivery_report.h"
#include "tools/ternctl/delivery_report_format.h"

ABSL_FLAG(std::string, since, "24h",
          "report: events from this long ago (24h, 7d) or from this time (RFC 3339, YYYY-MM-DD)");
ABSL_FLAG(std::string, until, "", "report: events before this time or this long ago (default now)");
ABSL_FLAG(std::string, delivery_log, "",
          "report: ternd's --delivery_log (default /var/log/tern/delivery.jsonl when it exists, "
          "else var/log/delivery.jsonl); its rotated files FILE.1, FILE.2.gz, ... are read too");
ABSL_FLAG(int, top, 10,
          "report: rows per table; qshape: domains shown (the rest are summed as 'other')");

namespace tern::tools::ternctl {

absl::StatusOr<absl::Time> ParseReportTime(absl::string_view text, absl::Time now) {
  if (text.empty()) return absl::InvalidArgumentError("empty time");
  if (absl::StatusOr<absl::Duration> ago = core::ParsePositiveDuration(text); ago.ok()) {
    return now - *ago;
  }
  absl::Duration zero;
  if (absl::ParseDuration(text, &zero) && zero == absl::ZeroDuration()) return now;
  absl::Time t;
  std::string error;
  if (absl::ParseTime(absl::RFC3339_full, text, &t, &error)) return t;
  if (absl::ParseTime("%Y-%m-%d", text, absl::UTCTimeZone(), &t, &error)) return t;
  return absl::InvalidArgumentError(absl::StrCat(
      "'", text, "': give a duration before now (24h, 90m, 7d) or a time (2026-12-06T08:00:00Z)"));
}

std::string DefaultDeliveryLogPath() {
  struct stat st;
  if (stat(std::string(kInstalledDeliveryLog).c_str(), &st) == 0) {
    return std::string(kInstalledDeliveryLog);
  }
  return std::string(kDefaultDeliveryLog);
}

int RunReport(bool json) {
  const absl::Time now = absl::Now();
  absl::StatusOr<absl::Time> since = ParseReportTime(absl::GetFlag(FLAGS_since), now);
  absl::StatusOr<absl::Time> until = absl::GetFlag(FLAGS_until).empty()
                                         ? absl::StatusOr<absl::Time>(absl::InfiniteFuture())
                                         : ParseReportTime(absl::GetFlag(FLAGS_until), now);
  const int top = absl::GetFlag(FLAGS_top);
  for (const auto* t : {&since, &until}) {
    if (!t->ok()) {
      fprintf(stderr, "ternctl report: %s\n", std::string(t->status().message()).c_str());
      return 2;
    }
  }
  if (top < 1) {
    fputs("ternctl report: --top must be at least 1\n", stderr);
    return 2;
  }
  std::string path = absl::GetFlag(FLAGS_delivery_log);
  if (path.empty()) path = DefaultDeliveryLogPath();
  DeliveryReport report;
  absl::StatusOr<LogReadSummary> read = ReadDeliveryLog(path, *since, *until, &report);
  if (!read.ok()) {
    fprintf(stderr, "ternctl report: %s\n", std::string(read.status().message()).c_str());
    return 1;
  }
  const ReportScope scope{
      .since = *since, .until = *until == absl::InfiniteFuture() ? now : *until, .read = *read};
  const std::string out = json ? DeliveryReportJson(report, scope, static_cast<size_t>(top))
                               : DeliveryReportText(report, scope, static_cast<size_t>(top));
  fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace tern::tools::ternctl
