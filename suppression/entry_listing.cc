// Listing and exporting the suppression list (suppression/entry_listing.h).
#include "suppression/entry_listing.h"

#include "absl/strings/match.h"
#include "core/json_writer.h"
#include "suppression/suppression_csv.h"

namespace tern::suppression {

bool Matches(const EntryFilter& filter, const EntryView& entry, int64_t now) {
  if (!filter.include_expired && entry.expired(now)) return false;
  if (filter.reason && entry.reason != *filter.reason) return false;
  if (filter.scope && entry.scope != *filter.scope) return false;
  if (filter.text.empty()) return true;
  if (filter.exact) return absl::EqualsIgnoreCase(entry.target, filter.text);
  // Targets are lowercase; the filter text need not be.
  for (size_t at = 0; at + filter.text.size() <= entry.target.size(); ++at) {
    if (absl::EqualsIgnoreCase(entry.target.substr(at, filter.text.size()), filter.text)) {
      return true;
    }
  }
  return false;
}

size_t ListEntries(const SuppressionIndex& index, const EntryFilter& filter, int64_t now,
                   absl::FunctionRef<void(const EntryView&)> fn) {
  size_t count = 0;
  index.ForEach([&](const EntryView& entry) {
    if (filter.limit != 0 && count >= filter.limit) return;
    if (!Matches(filter, entry, now)) return;
    ++count;
    fn(entry);
  });
  return count;
}

void AppendJsonLine(const EntryView& entry, std::string* out) {
  core::JsonWriter json(out);
  json.BeginObject();
  json.Key("address");
  json.String(entry.target);
  json.Key("scope");
  json.String(entry.scope);
  json.Key("by");
  json.String(entry.is_domain() ? "domain" : "address");
  json.Key("reason");
  json.String(ReasonName(entry.reason));
  json.Key("created");
  json.String(FormatRfc3339(entry.created));
  json.Key("expires");
  if (entry.expires == 0) {
    json.Raw("null");
  } else {
    json.String(FormatRfc3339(entry.expires));
  }
  json.Key("event");
  json.String(entry.event);
  json.EndObject();
  out->push_back('\n');
}

absl::Status ExportEntries(const SuppressionIndex& index, const EntryFilter& filter, int64_t now,
                           ExportFormat format,
                           absl::FunctionRef<absl::Status(absl::string_view)> sink) {
  std::string chunk;
  chunk.reserve(kExportChunkBytes + 1024);
  if (format == ExportFormat::kCsv) AppendCsvHeader(&chunk);
  absl::Status status;
  ListEntries(index, filter, now, [&](const EntryView& entry) {
    if (!status.ok()) return;
    if (format == ExportFormat::kCsv) {
      AppendCsvLine(entry, &chunk);
    } else {
      AppendJsonLine(entry, &chunk);
    }
    if (chunk.size() >= kExportChunkBytes) {
      status = sink(chunk);
      chunk.clear();
    }
  });
  if (!status.ok()) return status;
  if (!chunk.empty()) return sink(chunk);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<SuppressionIndex::ScanPosition>> ExportPage(
    const SuppressionIndex& index, const EntryFilter& filter, int64_t now, ExportFormat format,
    SuppressionIndex::ScanPosition from, size_t limit, std::string* out) {
  if (format == ExportFormat::kCsv && from.slot == 0) AppendCsvHeader(out);
  size_t count = 0;
  return index.ForEachFrom(from, [&](const EntryView& entry) {
    if (!Matches(filter, entry, now)) return true;
    if (format == ExportFormat::kCsv) {
      AppendCsvLine(entry, out);
    } else {
      AppendJsonLine(entry, out);
    }
    return ++count < limit;
  });
}

}  // namespace tern::suppression
