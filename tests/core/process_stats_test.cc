// Tests of core/process_stats.h: /proc/<pid>/stat parsing (command names with spaces and
// parentheses), the boot time, and this test process's own figures.
#include "core/process_stats.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <ctime>

#include "gtest/gtest.h"

namespace tern::core {
namespace {

// A real line (kernel 6.1) with its command name replaced.
constexpr const char* kStatTail =
    " S 1 1234 1234 0 -1 4194560 2317 0 0 0 150 37 0 0 20 0 3 0 98765 123456789 4321 "
    "18446744073709551615 1 1 0 0 0 0 0 4096 16898 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n";

TEST(ParseProcStat, ReadsTheFieldsByNumber) {
  absl::StatusOr<ProcStatFields> f = ParseProcStat(std::string("1234 (ternd)") + kStatTail);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->utime_ticks, 150u);
  EXPECT_EQ(f->stime_ticks, 37u);
  EXPECT_EQ(f->starttime_ticks, 98765u);
  EXPECT_EQ(f->vsize_bytes, 123456789u);
  EXPECT_EQ(f->rss_pages, 4321u);
}

TEST(ParseProcStat, CommandNameWithSpacesAndParentheses) {
  absl::StatusOr<ProcStatFields> f = ParseProcStat(std::string("1234 (a) b (c)") + kStatTail);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->utime_ticks, 150u);
  EXPECT_EQ(f->rss_pages, 4321u);
}

TEST(ParseProcStat, RejectsTruncatedOrGarbage) {
  EXPECT_FALSE(ParseProcStat("").ok());
  EXPECT_FALSE(ParseProcStat("1234 ternd S 1 2 3").ok());
  EXPECT_FALSE(ParseProcStat("1234 (ternd) S 1 2 3 4 5").ok());
  EXPECT_FALSE(ParseProcStat("1234 (ternd) S 1 1234 1234 0 -1 4194560 2317 0 0 0 x 37 0 0 20 0 "
                             "3 0 98765 123456789 4321")
                   .ok());
}

TEST(ParseBootTime, FindsTheBtimeLine) {
  absl::StatusOr<uint64_t> boot = ParseBootTime("cpu  1 2 3\nintr 5\nbtime 1764000000\nx 1\n");
  ASSERT_TRUE(boot.ok()) << boot.status();
  EXPECT_EQ(*boot, 1764000000u);
  EXPECT_FALSE(ParseBootTime("cpu 1 2 3\n").ok());
  EXPECT_FALSE(ParseBootTime("btime soon\n").ok());
}

TEST(ReadProcessStats, ThisProcess) {
  absl::StatusOr<ProcessStats> before = ReadProcessStats();
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_GT(before->resident_memory_bytes, 0u);
  EXPECT_GE(before->virtual_memory_bytes, before->resident_memory_bytes);
  rlimit limit{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
  EXPECT_EQ(before->max_fds, limit.rlim_cur);
  const uint64_t now_micros = static_cast<uint64_t>(std::time(nullptr)) * 1'000'000;
  EXPECT_LE(before->start_time_unix_micros, now_micros + 2'000'000);
  EXPECT_GT(before->start_time_unix_micros + 24ull * 3600 * 1'000'000, now_micros);

  // Two more descriptors are counted; the CPU time never goes back.
  const int a = open("/dev/null", O_RDONLY | O_CLOEXEC);
  const int b = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  absl::StatusOr<ProcessStats> after = ReadProcessStats();
  close(a);
  close(b);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->open_fds, before->open_fds + 2);
  EXPECT_GE(after->cpu_micros, before->cpu_micros);
  EXPECT_EQ(after->start_time_unix_micros, before->start_time_unix_micros);
}

}  // namespace
}  // namespace tern::core
