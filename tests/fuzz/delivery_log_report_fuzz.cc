// libFuzzer entry point for `ternctl report`'s reading of the delivery log
// (tools/ternctl/delivery_log_entry.h, delivery_report.h, delivery_report_format.h and
// delivery/reply_pattern.h): the log carries remote text, so arbitrary bytes split into
// lines are parsed, summed into a report with small table bounds, and formatted as text and
// JSON. Must never crash, and every line is either an event or counted as skipped.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/string_view.h"
#include "delivery/reply_pattern.h"
#include "tools/ternctl/delivery_log_entry.h"
#include "tools/ternctl/delivery_report.h"
#include "tools/ternctl/delivery_report_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using tern::tools::ternctl::DeliveryReport;
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  DeliveryReport report({.domains_tracked_max = 4,
                         .errors_tracked_max = 4,
                         .error_domains_max = 2,
                         .deferred_messages_max = 4});
  uint64_t lines = 0;
  uint64_t events = 0;
  while (!text.empty()) {
    const size_t newline = text.find('\n');
    const absl::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == absl::string_view::npos ? text.size() : newline + 1);
    ++lines;
    if (auto entry = tern::tools::ternctl::ParseDeliveryLogLine(line)) {
      report.Add(*entry);
      ++events;
      const std::string pattern = tern::delivery::ReplyPattern(entry->reply);
      if (pattern.size() > tern::delivery::kReplyPatternBytesMax + 3) abort();
    } else {
      report.AddSkipped();
    }
  }
  if (report.totals().total() != events || report.skipped_lines() != lines - events) abort();
  const tern::tools::ternctl::ReportScope scope{.since = absl::InfinitePast(),
                                                .until = absl::InfiniteFuture()};
  for (size_t top : {size_t{1}, size_t{3}}) {
    const std::string json = tern::tools::ternctl::DeliveryReportJson(report, scope, top);
    const std::string out = tern::tools::ternctl::DeliveryReportText(report, scope, top);
    if (json.empty() || out.empty()) abort();
    if (report.RecipientDomains(top).size() > top + 1) abort();
  }
  return 0;
}
