// Implementation of tools/ternctl/delivery_report_format.h.
#include "tools/ternctl/delivery_report_format.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/json_writer.h"

namespace tern::tools::ternctl {
namespace {

// Domain names wider than this widen their column no further (the row just runs on).
constexpr size_t kNameColumnBytesMax = 40;
constexpr size_t kNameColumnBytesMin = 20;

constexpr LogEvent kRecipientColumns[] = {LogEvent::kDelivered, LogEvent::kDeferred,
                                          LogEvent::kBounced, LogEvent::kExpired,
                                          LogEvent::kDeleted};
constexpr LogEvent kSenderColumns[] = {LogEvent::kReceived, LogEvent::kDelivered,
                                       LogEvent::kDeferred, LogEvent::kBounced, LogEvent::kExpired};
constexpr LogEvent kErrorColumns[] = {LogEvent::kDeferred, LogEvent::kBounced, LogEvent::kExpired};

std::string ReportTime(absl::Time t) {
  if (t == absl::InfinitePast()) return "the beginning";
  if (t == absl::InfiniteFuture()) return "now";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

template <size_t N>
void AppendDomainTable(const char* title, const std::vector<DeliveryReport::DomainRow>& rows,
                       const LogEvent (&columns)[N], std::string* out) {
  size_t width = kNameColumnBytesMin;
  for (const auto& row : rows)
    width = std::max(width, std::min(row.domain.size(), kNameColumnBytesMax));
  absl::StrAppend(out, "\n", absl::StrFormat("%-*s", width + 2, title));
  for (LogEvent e : columns) absl::StrAppend(out, absl::StrFormat(" %10s", LogEventName(e)));
  out->push_back('\n');
  if (rows.empty()) absl::StrAppend(out, "  (none)\n");
  for (const auto& row : rows) {
    absl::StrAppend(out, absl::StrFormat("  %-*s", width, row.domain));
    for (LogEvent e : columns) absl::StrAppend(out, absl::StrFormat(" %10d", row.counts[e]));
    out->push_back('\n');
  }
}

template <size_t N>
void AppendDomainJson(const char* key, const std::vector<DeliveryReport::DomainRow>& rows,
                      const LogEvent (&columns)[N], core::JsonWriter* json,
                      const char* name_key = "domain") {
  json->Key(key);
  json->BeginArray();
  for (const auto& row : rows) {
    json->BeginObject();
    json->Key(name_key);
    json->String(row.domain);
    for (LogEvent e : columns) {
      json->Key(LogEventName(e));
      json->Number(row.counts[e]);
    }
    json->EndObject();
  }
  json->EndArray();
}

}  // namespace

std::string FormatDelay(int64_t ms) {
  if (ms < 1000) return absl::StrCat(ms, "ms");
  if (ms < 60000) return absl::StrFormat("%.1fs", static_cast<double>(ms) / 1000);
  const int64_t s = ms / 1000;
  if (s < 3600) return absl::StrCat(s / 60, "m", s % 60, "s");
  if (s < 86400) return absl::StrCat(s / 3600, "h", s % 3600 / 60, "m");
  return absl::StrCat(s / 86400, "d", s % 86400 / 3600, "h");
}

std::string DeliveryReportText(const DeliveryReport& report, const ReportScope& scope, size_t top) {
  std::string out;
  absl::StrAppend(&out, "Tern delivery report, ", ReportTime(scope.since), " to ",
                  ReportTime(scope.until), "\n");
  absl::StrAppend(&out, "Read ", absl::StrJoin(scope.read.files_read, ", "), ": ",
                  scope.read.lines_in_window, " events in the window, ", report.skipped_lines(),
                  " lines skipped\n");
  for (const std::string& warning : scope.read.warnings) {
    absl::StrAppend(&out, "warning: ", warning, "\n");
  }
  const EventCounts& t = report.totals();
  absl::StrAppend(&out, "\nTotals\n");
  absl::StrAppend(&out,
                  absl::StrFormat("  %-10s %10d messages\n", "received", t[LogEvent::kReceived]));
  absl::StrAppend(
      &out, absl::StrFormat("  %-10s %10d recipients\n", "delivered", t[LogEvent::kDelivered]));
  absl::StrAppend(&out, absl::StrFormat("  %-10s %10d events, %d%s distinct messages\n", "deferred",
                                        t[LogEvent::kDeferred], report.deferred_messages(),
                                        report.deferred_messages_capped() ? "+" : ""));
  for (LogEvent e :
       {LogEvent::kBounced, LogEvent::kExpired, LogEvent::kDeleted, LogEvent::kSuppressed}) {
    absl::StrAppend(&out, absl::StrFormat("  %-10s %10d recipients\n", LogEventName(e), t[e]));
  }
  const DelayHistogram& d = report.delays();
  absl::StrAppend(&out, "\nDelivery delay (", d.count(), " delivered)\n");
  if (d.count() > 0) {
    absl::StrAppend(&out, "  p50 ", FormatDelay(d.Percentile(0.5)), "   p90 ",
                    FormatDelay(d.Percentile(0.9)), "   p99 ", FormatDelay(d.Percentile(0.99)),
                    "   max ", FormatDelay(d.max_ms()), "\n");
  }
  AppendDomainTable("Recipient domains", report.RecipientDomains(top), kRecipientColumns, &out);
  AppendDomainTable("Sender domains", report.SenderDomains(top), kSenderColumns, &out);

  AppendDomainTable("Bounce classes", report.FailureClasses(), kErrorColumns, &out);

  absl::StrAppend(&out, "\nTop remote errors\n");
  const std::vector<DeliveryReport::ErrorRow> errors = report.TopErrors(top);
  if (errors.empty())
    absl::StrAppend(&out, "  (none)\n");
  else
    absl::StrAppend(&out, absl::StrFormat("  %8s %9s %9s %9s  %s\n", "count", "deferred", "bounced",
                                          "expired", "reply"));
  for (const auto& e : errors) {
    absl::StrAppend(
        &out,
        absl::StrFormat("  %8d %9d %9d %9d  %s\n", e.count, e.counts[LogEvent::kDeferred],
                        e.counts[LogEvent::kBounced], e.counts[LogEvent::kExpired], e.pattern));
    if (e.domains.empty()) continue;
    std::vector<std::string> from;
    for (const auto& [domain, count] : e.domains)
      from.push_back(absl::StrCat(domain, " (", count, ")"));
    if (e.other_domains > 0) from.push_back(absl::StrCat("other (", e.other_domains, ")"));
    absl::StrAppend(&out, absl::StrFormat("  %40s  from %s\n", "", absl::StrJoin(from, ", ")));
  }
  return out;
}

std::string DeliveryReportJson(const DeliveryReport& report, const ReportScope& scope, size_t top) {
  std::string out;
  core::JsonWriter json(&out);
  json.BeginObject();
  json.Key("since");
  json.String(ReportTime(scope.since));
  json.Key("until");
  json.String(ReportTime(scope.until));
  json.Key("files");
  json.BeginArray();
  for (const std::string& file : scope.read.files_read) json.String(file);
  json.EndArray();
  json.Key("lines");
  json.Number(scope.read.lines);
  json.Key("lines_in_window");
  json.Number(scope.read.lines_in_window);
  json.Key("skipped_lines");
  json.Number(report.skipped_lines());

  const EventCounts& t = report.totals();
  json.Key("totals");
  json.BeginObject();
  for (int i = 0; i < kLogEvents; ++i) {
    json.Key(LogEventName(static_cast<LogEvent>(i)));
    json.Number(t.by_event[i]);
    if (static_cast<LogEvent>(i) == LogEvent::kDeferred) {
      json.Key("deferred_messages");
      json.Number(report.deferred_messages());
      json.Key("deferred_messages_capped");
      json.Bool(report.deferred_messages_capped());
    }
  }
  json.EndObject();

  const DelayHistogram& d = report.delays();
  json.Key("delay_ms");
  json.BeginObject();
  json.Key("count");
  json.Number(d.count());
  for (const auto& [key, q] :
       {std::pair<const char*, double>{"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}}) {
    json.Key(key);
    json.Number(d.Percentile(q));
  }
  json.Key("max");
  json.Number(d.max_ms());
  json.EndObject();

  AppendDomainJson("recipient_domains", report.RecipientDomains(top), kRecipientColumns, &json);
  AppendDomainJson("sender_domains", report.SenderDomains(top), kSenderColumns, &json);

  AppendDomainJson("failure_classes", report.FailureClasses(), kErrorColumns, &json, "class");

  json.Key("errors");
  json.BeginArray();
  for (const auto& e : report.TopErrors(top)) {
    json.BeginObject();
    json.Key("pattern");
    json.String(e.pattern);
    json.Key("example");
    json.String(e.example);
    json.Key("count");
    json.Number(e.count);
    for (LogEvent event : kErrorColumns) {
      json.Key(LogEventName(event));
      json.Number(e.counts[event]);
    }
    json.Key("domains");
    json.BeginArray();
    for (const auto& [domain, count] : e.domains) {
      json.BeginObject();
      json.Key("domain");
      json.String(domain);
      json.Key("count");
      json.Number(count);
      json.EndObject();
    }
    json.EndArray();
    json.Key("other_domains");
    json.Number(e.other_domains);
    json.EndObject();
  }
  json.EndArray();
  json.Key("warnings");
  json.BeginArray();
  for (const std::string& warning : scope.read.warnings) json.String(warning);
  json.EndArray();
  json.EndObject();
  out.push_back('\n');
  return out;
}

}  // namespace tern::tools::ternctl
