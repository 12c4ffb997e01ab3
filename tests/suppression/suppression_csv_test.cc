// The CSV codec: a round trip keeps quotes, commas and newlines in the event field; a bad
// line is an error naming its line number; an import is all or nothing; RFC 3339 times.
// Listing: filters and the limit; the streaming exporter in CSV and JSON lines.
#include "suppression/suppression_csv.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "suppression/entry_listing.h"
#include "tests/suppression/suppression_test_util.h"

namespace tern::suppression {
namespace {

using testing::MakeEntry;

constexpr int64_t kNow = 1800000000;

std::vector<Entry> Parse(absl::string_view text) {
  absl::StatusOr<std::vector<Entry>> entries = ParseCsvEntries(text, kNow, 1000);
  EXPECT_TRUE(entries.ok()) << entries.status();
  return entries.ok() ? *entries : std::vector<Entry>{};
}

TEST(SuppressionCsv, ReadsEveryField) {
  const std::vector<Entry> entries = Parse(
      "address,scope,reason,created,expires,event\r\n"
      "User@Example.com,,hard-bounce,2026-12-07T22:00:00Z,,550 5.1.1 unknown\r\n"
      "@Example.NET,News.Example,complaint,2026-12-07T23:00:00+01:00,2027-01-01T00:00:00Z,"
      "\"fbl, \"\"abuse\"\"\nsecond line\"\n"
      "\n"
      "x@y.example,global,manual,,,\n");
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0], MakeEntry("user@example.com", "", Reason::kHardBounce, 1796680800, 0,
                                  "550 5.1.1 unknown"));
  EXPECT_EQ(entries[1], MakeEntry("example.net", "news.example", Reason::kComplaint, 1796680800,
                                  1798761600, "fbl, \"abuse\"\nsecond line"));
  EXPECT_EQ(entries[2], MakeEntry("x@y.example", "", Reason::kManual, kNow, 0, ""));
}

TEST(SuppressionCsv, RoundTripKeepsQuotesCommasAndNewlines) {
  SuppressionIndex index;
  const std::vector<Entry> written = {
      MakeEntry("a@example.com", "", Reason::kHardBounce, 100, 0, "plain"),
      MakeEntry("b@example.com", "s.example", Reason::kComplaint, 200, 300,
                "with, comma and \"quotes\""),
      MakeEntry("example.org", "", Reason::kUnsubscribe, 400, 0, "line one\r\nline two\n"),
      MakeEntry("c@example.com", "", Reason::kManual, 500, 0, " leading and trailing "),
      MakeEntry("d@example.com", "", Reason::kManual, 600, 0, ""),
      MakeEntry("e@example.com", "", Reason::kManual, 600, 0, "\"")};
  for (const Entry& e : written) index.Put(e);
  std::string csv;
  ASSERT_TRUE(ExportEntries(index, {}, 0, ExportFormat::kCsv, [&](absl::string_view chunk) {
                csv.append(chunk.data(), chunk.size());
                return absl::OkStatus();
              }).ok());
  std::map<std::string, Entry> expected;
  for (const Entry& e : written) expected[e.target] = e;
  std::map<std::string, Entry> read;
  for (Entry& e : Parse(csv)) read[e.target] = e;
  EXPECT_EQ(read, expected) << csv;
}

TEST(SuppressionCsv, BadLinesNameTheirLineNumber) {
  const std::string header = "address,scope,reason,created,expires,event\n";
  const std::string good = "ok@example.com,,manual,,,\n";
  struct Case {
    std::string body;
    int line;
    const char* why;
  } cases[] = {
      {"bad address@example.com,,manual,,,\n", 3, "bad byte"},
      {"u@example.com,,bounced,,,\n", 3, "unknown reason"},
      {"u@example.com,,manual,yesterday,,\n", 3, "created"},
      {"u@example.com,,manual,,2026-13-01T00:00:00Z,\n", 3, "expires"},
      {"u@example.com,,manual,,\n", 3, "5 fields"},
      {"u@example.com,,manual,,,,\n", 3, "more than 6"},
      {"u@example.com,,manual,,,\"open\n", 3, "not closed"},
      {"u@example.com,,manual,,,\"x\"y\n", 3, "after a closing quote"},
      {"u@example.com,,manual,,,a\"b\n", 3, "quote inside"},
      {"u@example.com,,manual,,," + std::string(kEventBytesMax + 1, 'e') + "\n", 3, "longer"},
      {"u@example.com,,manual,,," + std::string(kCsvFieldBytesMax + 5, 'e') + "\n", 3, "too long"},
      {"u@example.com,a b,manual,,,\n", 3, "scope"},
      {"u@example.com,,manual,1969-12-31T23:59:59Z,,\n", 3, "out of range"},
      {"u@example.com,,manual,,,\"multi\nline\"\nv@example.com,,nope,,,\n", 5, "unknown reason"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<std::vector<Entry>> entries = ParseCsvEntries(header + good + c.body, kNow, 100);
    ASSERT_FALSE(entries.ok()) << c.body;
    EXPECT_EQ(entries.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(entries.status().message().find(absl::StrCat("line ", c.line, ":")),
              std::string::npos)
        << entries.status();
    EXPECT_NE(entries.status().message().find(c.why), std::string::npos) << entries.status();
  }
}

TEST(SuppressionCsv, HeaderIsRequiredAndTheImportIsAllOrNothing) {
  EXPECT_FALSE(ParseCsvEntries("u@example.com,,manual,,,\n", kNow, 10).ok());
  EXPECT_FALSE(ParseCsvEntries("", kNow, 10).ok());
  EXPECT_TRUE(ParseCsvEntries("address,scope,reason,created,expires,event\n", kNow, 10).ok());
  absl::StatusOr<std::vector<Entry>> too_many = ParseCsvEntries(
      "address,scope,reason,created,expires,event\na@b.c,,manual,,,\nb@b.c,,manual,,,\n", kNow, 1);
  EXPECT_EQ(too_many.status().code(), absl::StatusCode::kResourceExhausted);
}

TEST(SuppressionCsv, Rfc3339) {
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(*ParseRfc3339("2026-12-07T22:00:00Z"), 1796680800);
  EXPECT_EQ(*ParseRfc3339("2026-12-07T23:30:00+01:30"), 1796680800);
  EXPECT_EQ(FormatRfc3339(1796680800), "2026-12-07T22:00:00Z");
  EXPECT_FALSE(ParseRfc3339("2026-12-07").ok());
  EXPECT_FALSE(ParseRfc3339("2107-01-01T00:00:00Z").ok()) << "beyond 32-bit seconds";
}

TEST(EntryListing, FiltersAndLimit) {
  SuppressionIndex index;
  index.Put(MakeEntry("alice@example.com", "", Reason::kHardBounce));
  index.Put(MakeEntry("bob@example.com", "", Reason::kComplaint));
  index.Put(MakeEntry("bob@example.com", "news.example", Reason::kComplaint));
  index.Put(MakeEntry("example.org", "", Reason::kManual));
  index.Put(MakeEntry("old@example.com", "", Reason::kManual, 10, 20));
  auto count = [&](EntryFilter filter) {
    return ListEntries(index, filter, 1000, [](const EntryView&) {});
  };
  EXPECT_EQ(count({}), 4u) << "expired entries are left out";
  EXPECT_EQ(count({.include_expired = true}), 5u);
  EXPECT_EQ(count({.text = "EXAMPLE.COM"}), 3u);
  EXPECT_EQ(count({.text = "bob@example.com", .exact = true}), 2u);
  EXPECT_EQ(count({.text = "bob@example", .exact = true}), 0u);
  EXPECT_EQ(count({.reason = Reason::kComplaint}), 2u);
  EXPECT_EQ(count({.scope = std::string()}), 3u);
  EXPECT_EQ(count({.scope = std::string("news.example")}), 1u);
  EXPECT_EQ(count({.limit = 2}), 2u);
}

TEST(EntryListing, JsonLinesParseAndExportStreamsInChunks) {
  SuppressionIndex index;
  for (int i = 0; i < 3000; ++i) {
    index.Put(MakeEntry(absl::StrCat("user", i, "@example.com"), "", Reason::kComplaint, 100,
                        i % 2 ? 0 : 5000, "event \"quoted\"\n\xff"));
  }
  index.Put(MakeEntry("example.org", "s.example", Reason::kManual, 100, 0, ""));
  size_t chunks = 0;
  size_t lines = 0;
  bool domain_seen = false;
  ASSERT_TRUE(ExportEntries(index, {}, 0, ExportFormat::kJsonLines, [&](absl::string_view chunk) {
                ++chunks;
                EXPECT_LE(chunk.size(), kExportChunkBytes + 4096);
                size_t start = 0;
                for (size_t end; (end = chunk.find('\n', start)) != absl::string_view::npos;
                     start = end + 1) {
                  const nlohmann::json j = nlohmann::json::parse(chunk.substr(start, end - start));
                  ++lines;
                  if (j["address"] == "example.org") {
                    domain_seen = true;
                    EXPECT_EQ(j["by"], "domain");
                    EXPECT_EQ(j["scope"], "s.example");
                    EXPECT_TRUE(j["expires"].is_null());
                  } else {
                    EXPECT_EQ(j["reason"], "complaint");
                    EXPECT_EQ(j["created"], "1970-01-01T00:01:40Z");
                  }
                }
                EXPECT_EQ(start, chunk.size()) << "chunks end at a line end";
                return absl::OkStatus();
              }).ok());
  EXPECT_EQ(lines, 3001u);
  EXPECT_TRUE(domain_seen);
  EXPECT_GT(chunks, 1u);
  // A sink's error stops the export.
  size_t calls = 0;
  absl::Status status = ExportEntries(index, {}, 0, ExportFormat::kCsv, [&](absl::string_view) {
    ++calls;
    return absl::UnavailableError("disk full");
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(calls, 1u);
}

}  // namespace
}  // namespace tern::suppression
