// Listing and exporting the suppression list (ternctl suppress list | export [--json]):
// filters, a limit, and a streaming exporter that hands out bounded chunks of text, so
// that 10M entries never need a 10M-element vector.
//
//   EntryFilter filter{.text = "example.com", .reason = Reason::kComplaint, .limit = 100};
//   ListEntries(index, filter, now, [&](const EntryView& e) { ... });
//   RETURN_IF_ERROR(ExportEntries(index, {}, now, ExportFormat::kCsv,
//                                 [&](absl::string_view chunk) { return Write(chunk); }));
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "suppression/entry.h"
#include "suppression/suppression_index.h"

namespace tern::suppression {

struct EntryFilter {
  // Matched against the address or domain, case-insensitively: a substring, or the whole
  // target when `exact`. Empty: every target.
  std::string text;
  bool exact = false;
  std::optional<Reason> reason;
  std::optional<std::string> scope;  // "" = global only; unset = any scope
  bool include_expired = false;
  size_t limit = 0;  // 0 = no limit
};

bool Matches(const EntryFilter& filter, const EntryView& entry, int64_t now);

// Calls `fn` for each matching entry (in no order), at most filter.limit; returns how many.
size_t ListEntries(const SuppressionIndex& index, const EntryFilter& filter, int64_t now,
                   absl::FunctionRef<void(const EntryView&)> fn);

// One JSON object and LF (the --json form): {"address":..,"scope":..,"by":"address"|
// "domain","reason":..,"created":RFC 3339,"expires":RFC 3339|null,"event":..}.
void AppendJsonLine(const EntryView& entry, std::string* out);

enum class ExportFormat { kCsv, kJsonLines };
inline constexpr size_t kExportChunkBytes = size_t{64} << 10;
// Streams the matching entries (CSV with its header, or JSON lines) to `sink` in chunks
// of about kExportChunkBytes; stops at the sink's first error and returns it.
absl::Status ExportEntries(const SuppressionIndex& index, const EntryFilter& filter, int64_t now,
                           ExportFormat format,
                           absl::FunctionRef<absl::Status(absl::string_view)> sink);

// One page of an export (the admin endpoint's GET /suppressions/export): appends at most
// `limit` matching entries from `from` on to *out (CSV with its header when from is the
// start, JSON lines) and returns where the next page starts (nullopt: this was the last).
// FailedPrecondition when the index was rebuilt since `from` (SuppressionIndex::ForEachFrom).
absl::StatusOr<std::optional<SuppressionIndex::ScanPosition>> ExportPage(
    const SuppressionIndex& index, const EntryFilter& filter, int64_t now, ExportFormat format,
    SuppressionIndex::ScanPosition from, size_t limit, std::string* out);

}  // namespace tern::suppression
