// Tests of tools/ternctl/delivery_log_reader.h on a hand-made log with its rotated files
// (FILE, FILE.1, FILE.2.gz written with zlib, FILE.3.gz older than the window): the window
// is honoured, rotated and compressed files are read, the walk stops at a file entirely
// before --since, bad and overlong lines are skipped.
#include "tools/ternctl/delivery_log_reader.h"

#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>
#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"

namespace tern::tools::ternctl {
namespace {

const absl::Time kBase = absl::FromUnixSeconds(1796000000);  // 2026-11-30

std::string Line(absl::Time t, const char* event, const char* recipient, const char* reply = "",
                 int delay_ms = 0) {
  return absl::StrFormat(
      R"({"time":"%s","event":"%s","queue_id":"00000000000000%02X","sender":"s@shop.test",)"
      R"("recipient":"%s","reply":"%s","delay_ms":%d})"
      "\n",
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone()), event,
      static_cast<int>(absl::ToUnixSeconds(t) % 256), recipient, reply, delay_ms);
}

class DeliveryLogReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tern-report-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/delivery.jsonl";
  }
  void TearDown() override {
    for (const char* suffix : {"", ".1", ".2.gz", ".3.gz", ".4.gz"}) {
      unlink(absl::StrCat(path_, suffix).c_str());
    }
    rmdir(dir_.c_str());
  }
  void WritePlain(const std::string& file, const std::string& text, absl::Time mtime) {
    FILE* f = fopen(file.c_str(), "w");
    ASSERT_NE(f, nullptr);
    fwrite(text.data(), 1, text.size(), f);
    fclose(f);
    SetMtime(file, mtime);
  }
  void WriteGzip(const std::string& file, const std::string& text, absl::Time mtime) {
    gzFile f = gzopen(file.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(gzwrite(f, text.data(), static_cast<unsigned>(text.size())),
              static_cast<int>(text.size()));
    gzclose(f);
    SetMtime(file, mtime);
  }
  void SetMtime(const std::string& file, absl::Time t) {
    utimbuf times{absl::ToTimeT(t), absl::ToTimeT(t)};
    ASSERT_EQ(utime(file.c_str(), &times), 0);
  }

  std::string dir_;
  std::string path_;
};

TEST_F(DeliveryLogReaderTest, ReadsRotatedAndCompressedFilesWithinTheWindow) {
  const absl::Time h = kBase;
  // .3.gz: two days old, entirely before the window: never opened (it is not even gzip).
  WritePlain(path_ + ".3.gz", "garbage\n", h - absl::Hours(48));
  // .2.gz: one line before the window, two inside.
  WriteGzip(path_ + ".2.gz",
            Line(h - absl::Hours(30), "delivered", "old@a.test") +
                Line(h - absl::Hours(20), "delivered", "x@a.test", "250 ok", 2000) +
                Line(h - absl::Hours(19), "bounced", "y@b.test", "550 5.1.1 <y@b.test> unknown"),
            h - absl::Hours(19));
  // .1: plain (delaycompress), with a foreign line and a line far too long.
  WritePlain(path_ + ".1",
             Line(h - absl::Hours(10), "deferred", "z@b.test", "451 4.7.1 try later") +
                 "Dec  6 10:00:00 host postfix/smtp[1]: foreign\n" +
                 std::string(kLineBytesMax + 10, 'x') + "\n" +
                 Line(h - absl::Hours(9), "deferred", "z@b.test", "451 4.7.1 try later"),
             h - absl::Hours(9));
  // FILE: one event in the window, one after --until, and a last line without its newline.
  std::string current = Line(h - absl::Hours(1), "delivered", "z@b.test", "250 ok", 4000) +
                        Line(h + absl::Hours(1), "delivered", "late@b.test", "250 ok", 1);
  current += Line(h - absl::Minutes(30), "received", "");
  current.pop_back();
  WritePlain(path_, current, h);

  EXPECT_EQ(RotatedLogFiles(path_).size(), 4u);
  DeliveryReport report;
  absl::StatusOr<LogReadSummary> read = ReadDeliveryLog(path_, h - absl::Hours(24), h, &report);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->files_read.size(), 3u);
  EXPECT_EQ(read->files_read[0], path_);
  EXPECT_EQ(read->files_read[2], path_ + ".2.gz");
  EXPECT_TRUE(read->warnings.empty());
  EXPECT_EQ(read->lines_in_window, 6u);
  EXPECT_EQ(report.skipped_lines(), 2u);
  EXPECT_EQ(report.totals()[LogEvent::kDelivered], 2u);
  EXPECT_EQ(report.totals()[LogEvent::kDeferred], 2u);
  EXPECT_EQ(report.totals()[LogEvent::kBounced], 1u);
  EXPECT_EQ(report.totals()[LogEvent::kReceived], 1u);
  EXPECT_EQ(report.delays().max_ms(), 4000);
  EXPECT_GE(report.delays().Percentile(0.5), 2000);  // a bucket's upper edge, within 3%
  EXPECT_LE(report.delays().Percentile(0.5), 2060);
  auto errors = report.TopErrors(10);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].pattern, "451 4.7.1 try later");
  EXPECT_EQ(errors[0].count, 2u);
}

TEST_F(DeliveryLogReaderTest, StopsAtAFileEntirelyBeforeTheWindowByItsLines) {
  // Its mtime says recent (a copy), its lines say old: read once, then the walk stops.
  WritePlain(path_, Line(kBase, "delivered", "a@a.test"), kBase);
  WritePlain(path_ + ".1", Line(kBase - absl::Hours(50), "delivered", "b@a.test"), kBase);
  WriteGzip(path_ + ".2.gz", Line(kBase - absl::Hours(60), "delivered", "c@a.test"), kBase);
  DeliveryReport report;
  auto read = ReadDeliveryLog(path_, kBase - absl::Hours(24), absl::InfiniteFuture(), &report);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->files_read.size(), 2u);
  EXPECT_EQ(report.totals()[LogEvent::kDelivered], 1u);
}

TEST_F(DeliveryLogReaderTest, MissingLogIsAnError) {
  DeliveryReport report;
  EXPECT_FALSE(ReadDeliveryLog(path_, absl::InfinitePast(), absl::InfiniteFuture(), &report).ok());
}

TEST_F(DeliveryLogReaderTest, DamagedGzipEndsThatFileWithAWarning) {
  WritePlain(path_, Line(kBase, "delivered", "a@a.test"), kBase);
  std::string gz_path = path_ + ".1.gz";
  WriteGzip(gz_path, Line(kBase - absl::Hours(1), "delivered", "b@a.test"), kBase);
  // Cut the gzip stream in half.
  struct stat st;
  ASSERT_EQ(stat(gz_path.c_str(), &st), 0);
  ASSERT_EQ(truncate(gz_path.c_str(), st.st_size / 2), 0);
  DeliveryReport report;
  auto read = ReadDeliveryLog(path_, absl::InfinitePast(), absl::InfiniteFuture(), &report);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->files_read.size(), 2u);
  EXPECT_EQ(report.totals()[LogEvent::kDelivered], 1u);
  EXPECT_EQ(read->warnings.size(), 1u);
  unlink(gz_path.c_str());
}

}  // namespace
}  // namespace tern::tools::ternctl
