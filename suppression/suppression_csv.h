// The CSV form of the suppression list (ternctl suppress import FILE | export), RFC 4180:
//
//   address,scope,reason,created,expires,event
//   user@example.com,,hard-bounce,2026-12-07T22:00:00Z,,"550 5.1.1 user unknown, sorry"
//   example.net,news.example,complaint,2026-12-01T08:00:00Z,2027-06-01T00:00:00Z,fbl-123
//
// address: an address or a domain ("example.net" or "@example.net"), any case (lowercased);
// scope: empty or "global", else the sender domain; reason: hard-bounce, complaint,
// unsubscribe or manual; created and expires: RFC 3339 (any offset; written in UTC), or
// empty (created: the import's time; expires: never); event: free text, at most 256 bytes.
// Fields with a comma, a quote, CR or LF are quoted, quotes doubled; lines end in LF or CRLF.
//
//   CsvEntryReader reader(text, now);              // validates while it reads
//   Entry entry;
//   while (true) { ASSIGN_OR_RETURN(bool more, reader.Next(&entry)); if (!more) break; ... }
//
//   std::string out; AppendCsvHeader(&out); AppendCsvLine(view, &out);
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "suppression/entry.h"
#include "suppression/suppression_index.h"

namespace tern::suppression {

inline constexpr absl::string_view kCsvHeader = "address,scope,reason,created,expires,event";
// A field longer than this (before unquoting) makes its line bad.
inline constexpr size_t kCsvFieldBytesMax = 2 * kEventBytesMax + 2;

// Reads entries from CSV text, one at a time (no vector of the whole file). The first line
// must be kCsvHeader. A bad line is an InvalidArgument error "line N: why" (N counts
// physical lines from 1, at the start of the record), after which Next() keeps failing.
class CsvEntryReader {
 public:
  // `text` outlives the reader; `now` fills an empty created field.
  CsvEntryReader(absl::string_view text, int64_t now) : text_(text), now_(now) {}
  // True with the next entry in *entry, false at the end.
  absl::StatusOr<bool> Next(Entry* entry);
  int line() const { return line_; }

 private:
  // Splits one record into fields; false at the end of the text.
  absl::StatusOr<bool> ReadRecord(std::vector<std::string>* fields);
  absl::Status Fail(absl::string_view why);

  absl::string_view text_;
  size_t offset_ = 0;
  int64_t now_;
  int line_ = 0;       // physical line where the current record starts
  int next_line_ = 1;  // physical line at offset_
  bool header_read_ = false;
  absl::Status failed_;
  std::vector<std::string> fields_;
};

// Validates all of `text` first, then returns its entries: an import is all or nothing.
// At most `entries_max` entries (ResourceExhausted beyond).
absl::StatusOr<std::vector<Entry>> ParseCsvEntries(absl::string_view text, int64_t now,
                                                   size_t entries_max);

void AppendCsvHeader(std::string* out);  // kCsvHeader and LF
void AppendCsvLine(const EntryView& entry, std::string* out);

// Unix seconds as RFC 3339 UTC ("2026-12-07T22:00:00Z"), and back (any offset).
std::string FormatRfc3339(int64_t unix_seconds);
absl::StatusOr<int64_t> ParseRfc3339(absl::string_view text);

}  // namespace tern::suppression
