// The suppression list's CSV codec (suppression/suppression_csv.h).
#include "suppression/suppression_csv.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace tern::suppression {
namespace {

constexpr size_t kFieldCount = 6;
constexpr size_t kTimeTextBytesMax = 64;

bool NeedsQuotes(absl::string_view field) {
  if (field.empty()) return false;
  if (field.front() == ' ' || field.back() == ' ') return true;
  return field.find_first_of(",\"\r\n") != absl::string_view::npos;
}

void AppendField(absl::string_view field, std::string* out) {
  if (!NeedsQuotes(field)) {
    out->append(field.data(), field.size());
    return;
  }
  out->push_back('"');
  for (char c : field) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

}  // namespace

std::string FormatRfc3339(int64_t unix_seconds) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(unix_seconds),
                          absl::UTCTimeZone());
}

absl::StatusOr<int64_t> ParseRfc3339(absl::string_view text) {
  if (text.size() > kTimeTextBytesMax) return absl::InvalidArgumentError("time too long");
  absl::Time time;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, text, &time, &error)) {
    return absl::InvalidArgumentError(absl::StrCat("bad RFC 3339 time \"", text, "\""));
  }
  const int64_t seconds = absl::ToUnixSeconds(time);
  if (seconds < 0 || seconds > kTimeMax) {
    return absl::InvalidArgumentError(absl::StrCat("time out of range: ", text));
  }
  return seconds;
}

absl::Status CsvEntryReader::Fail(absl::string_view why) {
  failed_ = absl::InvalidArgumentError(absl::StrCat("line ", line_, ": ", why));
  return failed_;
}

absl::StatusOr<bool> CsvEntryReader::ReadRecord(std::vector<std::string>* fields) {
  fields->clear();
  // Blank lines between records are skipped.
  while (offset_ < text_.size() && (text_[offset_] == '\n' || text_[offset_] == '\r')) {
    if (text_[offset_] == '\n') ++next_line_;
    ++offset_;
  }
  if (offset_ >= text_.size()) return false;
  line_ = next_line_;
  std::string field;
  while (true) {
    field.clear();
    if (offset_ < text_.size() && text_[offset_] == '"') {
      ++offset_;
      while (true) {
        if (offset_ >= text_.size()) return Fail("quoted field not closed");
        const char c = text_[offset_++];
        if (c == '"') {
          if (offset_ < text_.size() && text_[offset_] == '"') {
            ++offset_;
          } else {
            break;
          }
        } else if (c == '\n') {
          ++next_line_;
        }
        if (field.size() >= kCsvFieldBytesMax) return Fail("field too long");
        field.push_back(c);
      }
      if (offset_ < text_.size() && text_[offset_] != ',' && text_[offset_] != '\n' &&
          text_[offset_] != '\r') {
        return Fail("text after a closing quote");
      }
    } else {
      while (offset_ < text_.size() && text_[offset_] != ',' && text_[offset_] != '\n' &&
             text_[offset_] != '\r') {
        if (text_[offset_] == '"') return Fail("quote inside an unquoted field");
        if (field.size() >= kCsvFieldBytesMax) return Fail("field too long");
        field.push_back(text_[offset_++]);
      }
    }
    if (fields->size() >= kFieldCount) return Fail("more than 6 fields");
    fields->push_back(field);
    if (offset_ >= text_.size()) break;
    const char c = text_[offset_++];
    if (c == ',') continue;
    if (c == '\r') {
      if (offset_ < text_.size() && text_[offset_] != '\n') return Fail("bare CR");
      if (offset_ < text_.size()) ++offset_;
    }
    ++next_line_;
    break;
  }
  return true;
}

absl::StatusOr<bool> CsvEntryReader::Next(Entry* entry) {
  if (!failed_.ok()) return failed_;
  if (!header_read_) {
    absl::StatusOr<bool> more = ReadRecord(&fields_);
    if (!more.ok()) return more.status();
    std::vector<std::string> header = {"address", "scope", "reason", "created", "expires", "event"};
    if (!*more || fields_ != header) {
      line_ = std::max(line_, 1);
      return Fail(absl::StrCat("expected the header \"", kCsvHeader, "\""));
    }
    header_read_ = true;
  }
  absl::StatusOr<bool> more = ReadRecord(&fields_);
  if (!more.ok() || !*more) return more;
  if (fields_.size() != kFieldCount) {
    return Fail(absl::StrCat(fields_.size(), " fields, expected 6"));
  }
  Entry out;
  absl::StatusOr<Target> target = NormalizeTarget(fields_[0]);
  if (!target.ok()) return Fail(target.status().message());
  out.target = std::move(target->text);
  absl::StatusOr<std::string> scope = NormalizeScope(fields_[1]);
  if (!scope.ok()) return Fail(scope.status().message());
  out.scope = std::move(*scope);
  std::optional<Reason> reason = ParseReason(fields_[2]);
  if (!reason) return Fail(absl::StrCat("unknown reason \"", fields_[2], "\""));
  out.reason = *reason;
  if (fields_[3].empty()) {
    out.created = now_;
  } else {
    absl::StatusOr<int64_t> created = ParseRfc3339(fields_[3]);
    if (!created.ok()) return Fail(absl::StrCat("created: ", created.status().message()));
    out.created = *created;
  }
  if (!fields_[4].empty()) {
    absl::StatusOr<int64_t> expires = ParseRfc3339(fields_[4]);
    if (!expires.ok()) return Fail(absl::StrCat("expires: ", expires.status().message()));
    if (*expires == 0) return Fail("expires: 1970-01-01T00:00:00Z means never; leave it empty");
    out.expires = *expires;
  }
  if (fields_[5].size() > kEventBytesMax) {
    return Fail(absl::StrCat("event longer than ", kEventBytesMax, " bytes"));
  }
  out.event = std::move(fields_[5]);
  if (absl::Status valid = ValidateEntry(out); !valid.ok()) return Fail(valid.message());
  *entry = std::move(out);
  return true;
}

absl::StatusOr<std::vector<Entry>> ParseCsvEntries(absl::string_view text, int64_t now,
                                                   size_t entries_max) {
  // Pass one validates everything, so that a bad last line imports nothing.
  size_t count = 0;
  {
    CsvEntryReader reader(text, now);
    Entry entry;
    while (true) {
      absl::StatusOr<bool> more = reader.Next(&entry);
      if (!more.ok()) return more.status();
      if (!*more) break;
      if (++count > entries_max) {
        return absl::ResourceExhaustedError(
            absl::StrCat("line ", reader.line(), ": more than ", entries_max, " entries"));
      }
    }
  }
  std::vector<Entry> entries;
  entries.reserve(count);
  CsvEntryReader reader(text, now);
  Entry entry;
  while (true) {
    absl::StatusOr<bool> more = reader.Next(&entry);
    if (!more.ok()) return more.status();
    if (!*more) break;
    entries.push_back(std::move(entry));
  }
  return entries;
}

void AppendCsvHeader(std::string* out) { absl::StrAppend(out, kCsvHeader, "\n"); }

void AppendCsvLine(const EntryView& entry, std::string* out) {
  AppendField(entry.target, out);
  out->push_back(',');
  AppendField(entry.scope, out);
  absl::StrAppend(out, ",", ReasonName(entry.reason), ",", FormatRfc3339(entry.created), ",");
  if (entry.expires != 0) out->append(FormatRfc3339(entry.expires));
  out->push_back(',');
  AppendField(entry.event, out);
  out->push_back('\n');
}

}  // namespace tern::suppression
