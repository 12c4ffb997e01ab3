// Implementation of tools/ternd/suppression_api.h.
#include "tools/ternd/suppression_api.h"

#include <algorithm>
#include <future>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "suppression/entry_listing.h"
#include "suppression/suppression_csv.h"

namespace tern::tools::ternd {
namespace {

using suppression::Entry;
using suppression::EntryFilter;
using suppression::EntryView;
using suppression::ExportFormat;
using suppression::SuppressionIndex;
using suppression::SuppressionWriter;

constexpr const char* kText = "text/plain; charset=utf-8";
constexpr const char* kJson = "application/json";
constexpr const char* kJsonLines = "application/jsonl";
constexpr const char* kCsv = "text/csv; charset=utf-8";

net::HttpResponse BadRequest(absl::string_view what, const absl::Status& status) {
  return {400, kText, absl::StrCat(what, status.message(), "\n")};
}

// Queues a change with `submit` and waits (at most kDurableWaitMax) for the writer's
// callback: the status it gave, or Unavailable / ResourceExhausted / DeadlineExceeded.
absl::Status SubmitAndWait(absl::FunctionRef<absl::Status(SuppressionWriter::Done)> submit) {
  auto promise = std::make_shared<std::promise<absl::Status>>();
  std::future<absl::Status> durable = promise->get_future();
  absl::Status queued =
      submit([promise](absl::Status status) { promise->set_value(std::move(status)); });
  if (!queued.ok()) return queued;
  if (durable.wait_for(SuppressionApi::kDurableWaitMax) != std::future_status::ready) {
    return absl::DeadlineExceededError(
        absl::StrCat("not durable after ", SuppressionApi::kDurableWaitMax.count(),
                     " s (the disk is slow or failing); it may still be applied"));
  }
  return durable.get();
}

// The answer for a change the writer refused or failed.
net::HttpResponse ChangeFailed(const absl::Status& status) {
  int code = 500;
  if (absl::IsInvalidArgument(status)) code = 400;
  if (absl::IsNotFound(status)) code = 404;
  if (absl::IsResourceExhausted(status) || absl::IsDeadlineExceeded(status) ||
      absl::IsFailedPrecondition(status)) {
    code = 503;
  }
  return {code, kText, absl::StrCat(status.message(), "\n")};
}

absl::Status ParseSize(const net::QueryParams& params, absl::string_view key, size_t fallback,
                       size_t max, size_t* out) {
  *out = fallback;
  const std::string text = net::QueryValue(params, key);
  if (text.empty()) return absl::OkStatus();
  if (!absl::SimpleAtoi(text, out) || *out == 0 || *out > max) {
    return absl::InvalidArgumentError(absl::StrCat(key, ": a number from 1 to ", max));
  }
  return absl::OkStatus();
}

// text=, exact=1, reason=, scope= as an EntryFilter.
absl::StatusOr<EntryFilter> ParseFilter(const net::QueryParams& params) {
  EntryFilter filter;
  filter.text = net::QueryValue(params, "text");
  filter.exact = net::QueryValue(params, "exact") == "1";
  if (const std::string reason = net::QueryValue(params, "reason"); !reason.empty()) {
    filter.reason = suppression::ParseReason(reason);
    if (!filter.reason.has_value()) {
      return absl::InvalidArgumentError("reason: hard-bounce, complaint, unsubscribe or manual");
    }
  }
  if (net::HasQueryKey(params, "scope")) {
    absl::StatusOr<std::string> scope =
        suppression::NormalizeScope(net::QueryValue(params, "scope"));
    if (!scope.ok()) return scope.status();
    filter.scope = *std::move(scope);
  }
  return filter;
}

std::string Time(int64_t unix_seconds) {
  return unix_seconds == 0 ? "never" : suppression::FormatRfc3339(unix_seconds);
}

// Aligned columns: address, scope, reason, created, expires, event.
std::string ListText(const std::vector<Entry>& entries, size_t total) {
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"ADDRESS", "SCOPE", "REASON", "CREATED", "EXPIRES", "EVENT"});
  for (const Entry& e : entries) {
    rows.push_back({e.target, e.scope.empty() ? "global" : e.scope,
                    std::string(suppression::ReasonName(e.reason)), Time(e.created),
                    Time(e.expires), e.event});
  }
  std::vector<size_t> widths(6, 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      out += row[i];
      if (i + 1 < row.size()) out.append(widths[i] - row[i].size() + 2, ' ');
    }
    out += '\n';
  }
  absl::StrAppend(&out, entries.size(), " of ", total, " entries\n");
  return out;
}

}  // namespace

int64_t SuppressionApi::Now() const { return clock_ ? clock_() : absl::ToUnixSeconds(absl::Now()); }

std::optional<net::HttpResponse> SuppressionApi::Handle(absl::string_view method,
                                                        absl::string_view path,
                                                        const net::QueryParams& params,
                                                        absl::string_view body) const {
  const bool change =
      path == "/suppress" || path == "/unsuppress" || path == "/suppressions/import";
  if (!change && path != "/suppressions" && path != "/suppressions/export") return std::nullopt;
  if (change && method != "POST") return net::HttpResponse{405, kText, "changes need POST\n"};
  if (list_ == nullptr) return net::HttpResponse{503, kText, "no suppression list\n"};
  if (path == "/suppressions") return List(params);
  if (path == "/suppressions/export") return Export(params);
  if (path == "/suppress") return Suppress(params);
  if (path == "/unsuppress") return Unsuppress(params);
  return Import(body);
}

net::HttpResponse SuppressionApi::List(const net::QueryParams& params) const {
  absl::StatusOr<EntryFilter> filter = ParseFilter(params);
  if (!filter.ok()) return BadRequest("", filter.status());
  if (absl::Status limit =
          ParseSize(params, "limit", kListLimitDefault, kListLimitMax, &filter->limit);
      !limit.ok()) {
    return BadRequest("", limit);
  }
  const SuppressionIndex& index = list_->index();
  const std::string format = net::QueryValue(params, "format");
  std::string out;
  if (format == "jsonl") {
    suppression::ListEntries(index, *filter, Now(),
                             [&](const EntryView& e) { suppression::AppendJsonLine(e, &out); });
    return {200, kJsonLines, std::move(out)};
  }
  std::vector<Entry> entries;
  suppression::ListEntries(index, *filter, Now(),
                           [&](const EntryView& e) { entries.push_back(e.ToEntry()); });
  if (format == "text") return {200, kText, ListText(entries, index.size())};
  out = "{\"entries\":[";
  std::string line;
  for (size_t i = 0; i < entries.size(); ++i) {
    line.clear();
    const Entry& e = entries[i];
    suppression::AppendJsonLine(EntryView{.target = e.target,
                                          .scope = e.scope,
                                          .event = e.event,
                                          .reason = e.reason,
                                          .created = e.created,
                                          .expires = e.expires},
                                &line);
    if (!line.empty() && line.back() == '\n') line.pop_back();
    if (i > 0) out += ',';
    out += line;
  }
  absl::StrAppend(&out, "],\"count\":", entries.size(), ",\"total\":", index.size(), "}\n");
  return {200, kJson, std::move(out)};
}

net::HttpResponse SuppressionApi::Suppress(const net::QueryParams& params) const {
  const int64_t now = Now();
  absl::StatusOr<suppression::Target> target =
      suppression::NormalizeTarget(net::QueryValue(params, "address"));
  if (!target.ok()) return BadRequest("address: ", target.status());
  absl::StatusOr<std::string> scope = suppression::NormalizeScope(net::QueryValue(params, "scope"));
  if (!scope.ok()) return BadRequest("scope: ", scope.status());
  Entry entry{.target = target->text, .scope = *scope, .created = now};
  if (const std::string reason = net::QueryValue(params, "reason"); !reason.empty()) {
    std::optional<suppression::Reason> parsed = suppression::ParseReason(reason);
    if (!parsed.has_value()) {
      return {400, kText, "reason: hard-bounce, complaint, unsubscribe or manual\n"};
    }
    entry.reason = *parsed;
  }
  entry.event = net::QueryValue(params, "event");
  if (!net::HasQueryKey(params, "event")) entry.event = "ternctl";
  if (const std::string expires = net::QueryValue(params, "expires"); !expires.empty()) {
    int64_t seconds = 0;
    if (absl::SimpleAtoi(expires, &seconds)) {
      if (seconds <= 0 || seconds > suppression::kTimeMax - now) {
        return {400, kText, "expires: a positive number of seconds from now\n"};
      }
      entry.expires = now + seconds;
    } else {
      absl::StatusOr<int64_t> at = suppression::ParseRfc3339(expires);
      if (!at.ok()) return BadRequest("expires: seconds from now or RFC 3339: ", at.status());
      if (*at <= now) return {400, kText, "expires: that time has passed\n"};
      entry.expires = *at;
    }
  }
  if (absl::Status valid = suppression::ValidateEntry(entry); !valid.ok()) {
    return BadRequest("", valid);
  }
  const std::string done = absl::StrCat(
      "suppressed ", entry.target, entry.scope.empty() ? "" : absl::StrCat(" for ", entry.scope),
      " (", suppression::ReasonName(entry.reason), ")\n");
  absl::Status status = SubmitAndWait([&](SuppressionWriter::Done callback) {
    return list_->writer().Add(std::move(entry), std::move(callback));
  });
  if (!status.ok()) return ChangeFailed(status);
  return {200, kText, done};
}

net::HttpResponse SuppressionApi::Unsuppress(const net::QueryParams& params) const {
  absl::StatusOr<suppression::Target> target =
      suppression::NormalizeTarget(net::QueryValue(params, "address"));
  if (!target.ok()) return BadRequest("address: ", target.status());
  absl::StatusOr<std::string> scope = suppression::NormalizeScope(net::QueryValue(params, "scope"));
  if (!scope.ok()) return BadRequest("scope: ", scope.status());
  absl::Status status = SubmitAndWait([&](SuppressionWriter::Done callback) {
    return list_->writer().Remove(*scope, target->text, std::move(callback));
  });
  if (absl::IsNotFound(status)) {
    return {404, kText,
            absl::StrCat("no entry for ", target->text, " (scope ",
                         scope->empty() ? "global" : *scope, ")\n")};
  }
  if (!status.ok()) return ChangeFailed(status);
  return {200, kText, absl::StrCat("removed ", target->text, "\n")};
}

net::HttpResponse SuppressionApi::Import(absl::string_view body) const {
  absl::StatusOr<std::vector<Entry>> entries =
      suppression::ParseCsvEntries(body, Now(), kImportEntriesMax);
  if (!entries.ok()) return ChangeFailed(entries.status());
  const size_t count = entries->size();
  if (count == 0) return {200, kText, "imported 0 entries\n"};
  absl::Status status = SubmitAndWait([&](SuppressionWriter::Done callback) {
    return list_->writer().AddAll(*std::move(entries), std::move(callback));
  });
  if (!status.ok()) return ChangeFailed(status);
  return {200, kText, absl::StrCat("imported ", count, " entries\n")};
}

net::HttpResponse SuppressionApi::Export(const net::QueryParams& params) const {
  absl::StatusOr<EntryFilter> filter = ParseFilter(params);
  if (!filter.ok()) return BadRequest("", filter.status());
  size_t limit = 0;
  if (absl::Status ok = ParseSize(params, "limit", kExportPageDefault, kExportPageMax, &limit);
      !ok.ok()) {
    return BadRequest("", ok);
  }
  const std::string format_text = net::QueryValue(params, "format");
  ExportFormat format = ExportFormat::kCsv;
  if (format_text == "jsonl") {
    format = ExportFormat::kJsonLines;
  } else if (!format_text.empty() && format_text != "csv") {
    return {400, kText, "format: csv or jsonl\n"};
  }
  SuppressionIndex::ScanPosition from;
  if (const std::string after = net::QueryValue(params, "after"); !after.empty()) {
    std::vector<absl::string_view> parts = absl::StrSplit(after, '-');
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &from.generation) ||
        !absl::SimpleAtoi(parts[1], &from.slot) || from.slot == 0) {
      return {400, kText, "after: the cursor of the previous page (X-Tern-Next)\n"};
    }
  }
  std::string out;
  absl::StatusOr<std::optional<SuppressionIndex::ScanPosition>> next =
      suppression::ExportPage(list_->index(), *filter, Now(), format, from, limit, &out);
  if (!next.ok()) return {409, kText, absl::StrCat(next.status().message(), "\n")};
  net::HttpResponse response{200, format == ExportFormat::kCsv ? kCsv : kJsonLines, std::move(out)};
  if (next->has_value()) {
    response.headers.emplace_back(kNextHeader,
                                  absl::StrCat((*next)->generation, "-", (*next)->slot));
  }
  return response;
}

}  // namespace tern::tools::ternd
