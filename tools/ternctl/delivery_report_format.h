// The delivery report as people read it (aligned text tables, for mailing to a customer) and
// as scripts read it (JSON). Pure formatting of a DeliveryReport and of what was read.
//
//   std::string text = DeliveryReportText(report, {.since = s, .until = u, .read = summary}, 10);
//
// JSON: {"since":..,"until":..,"files":[..],"lines":N,"lines_in_window":N,"skipped_lines":N,
//   "totals":{"received":N,"delivered":N,"deferred":N,"deferred_messages":N,"bounced":N,
//             "expired":N,"deleted":N,"suppressed":N},
//   "delay_ms":{"count":N,"p50":N,"p90":N,"p99":N,"max":N},
//   "recipient_domains":[{"domain":..,"delivered":N,"deferred":N,"bounced":N,"expired":N,
//                         "deleted":N}],
//   "sender_domains":[{"domain":..,"received":N,"delivered":N,..}],
//   "failure_classes":[{"class":..,"deferred":N,"bounced":N,"expired":N}],
//   "errors":[{"pattern":..,"example":..,"count":N,"deferred":N,"bounced":N,"expired":N,
//              "domains":[{"domain":..,"count":N}],"other_domains":N}],
//   "warnings":[..]}
#pragma once

#include <cstddef>
#include <string>

#include "absl/time/time.h"
#include "tools/ternctl/delivery_log_reader.h"
#include "tools/ternctl/delivery_report.h"

namespace tern::tools::ternctl {

struct ReportScope {
  absl::Time since;
  absl::Time until;
  LogReadSummary read;
};

std::string DeliveryReportText(const DeliveryReport& report, const ReportScope& scope, size_t top);
std::string DeliveryReportJson(const DeliveryReport& report, const ReportScope& scope, size_t top);

// "850ms", "4.2s", "3m4s", "2h1m", "1d3h".
std::string FormatDelay(int64_t delay_ms);

}  // namespace tern::tools::ternctl
