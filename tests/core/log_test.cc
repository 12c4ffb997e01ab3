// Tests of core/log.h (journal priorities) and core/log_writer.h (never blocking the caller,
// counting what a full pipe drops).
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/log_output.h"
#include "core/log_writer.h"
#include "gtest/gtest.h"

namespace tern::core {
namespace {

const absl::Time kTime = absl::FromUnixSeconds(1700000000);

TEST(FormatLogLine, PlainLineHasNoPriority) {
  EXPECT_EQ(FormatLogLine(LogLevel::kInfo, false, kTime, "main", "x.cc", 7, "hello"),
            "I 2023-11-14T22:13:20.000Z main x.cc:7] hello\n");
}

TEST(FormatLogLine, JournalLineStartsWithTheSdDaemonPriority) {
  EXPECT_EQ(FormatLogLine(LogLevel::kError, true, kTime, "shard1", "x.cc", 7, "m").substr(0, 5),
            "<3>E ");
  EXPECT_EQ(FormatLogLine(LogLevel::kWarning, true, kTime, "main", "x.cc", 7, "m").substr(0, 5),
            "<4>W ");
  EXPECT_EQ(FormatLogLine(LogLevel::kInfo, true, kTime, "main", "x.cc", 7, "m").substr(0, 5),
            "<6>I ");
  EXPECT_EQ(FormatLogLine(LogLevel::kDebug, true, kTime, "main", "x.cc", 7, "m").substr(0, 5),
            "<7>D ");
}

// Points stderr at a fresh pipe for the test's life.
class StderrPipe {
 public:
  StderrPipe() {
    EXPECT_EQ(::pipe2(fds_, O_CLOEXEC), 0);
    saved_ = ::dup(STDERR_FILENO);
    ::dup2(fds_[1], STDERR_FILENO);
  }
  ~StderrPipe() {
    ::dup2(saved_, STDERR_FILENO);
    ::close(saved_);
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  int read_fd() const { return fds_[0]; }
  std::string StreamId() const {
    struct stat status {};
    ::fstat(fds_[1], &status);
    return absl::StrCat(status.st_dev, ":", status.st_ino);
  }

 private:
  int fds_[2] = {-1, -1};
  int saved_ = -1;
};

TEST(StderrIsJournalStream, MatchesDeviceAndInodeOfStderr) {
  StderrPipe pipe;
  ::setenv("JOURNAL_STREAM", pipe.StreamId().c_str(), 1);
  EXPECT_TRUE(StderrIsJournalStream());
  // A journal stream inherited by a process whose stderr was redirected elsewhere.
  ::setenv("JOURNAL_STREAM", "1:2", 1);
  EXPECT_FALSE(StderrIsJournalStream());
  ::setenv("JOURNAL_STREAM", "garbage", 1);
  EXPECT_FALSE(StderrIsJournalStream());
  ::unsetenv("JOURNAL_STREAM");
  EXPECT_FALSE(StderrIsJournalStream());
}

std::string ReadAvailable(int fd) {
  std::string out;
  ::fcntl(fd, F_SETFL, O_NONBLOCK);
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n <= 0) break;
    out.append(buffer, static_cast<size_t>(n));
  }
  return out;
}

TEST(LogWriter, WritesWhatItIsGivenInOrder) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  {
    LogWriter writer(fds[1], 4096);
    EXPECT_TRUE(writer.Append("one\n"));
    EXPECT_TRUE(writer.Append("two\n"));
    EXPECT_TRUE(writer.Flush(absl::Now() + absl::Seconds(10)));
    EXPECT_EQ(writer.lines_dropped(), 0u);
  }
  EXPECT_EQ(ReadAvailable(fds[0]), "one\ntwo\n");
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST(LogWriter, AFullPipeDropsAndCountsLinesWithoutBlockingTheCaller) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  const std::string line = std::string(99, 'x') + "\n";
  constexpr int kLines = 20000;  // 2 MB: far beyond the pipe (64 KiB) and the buffer
  // The pipe is full before the writer starts: its first write blocks until we read.
  ::fcntl(fds[1], F_SETFL, O_NONBLOCK);
  const std::string filler(4096, 'f');
  size_t prefilled = 0;
  for (ssize_t n; (n = ::write(fds[1], filler.data(), filler.size())) > 0;) {
    prefilled += static_cast<size_t>(n);
  }
  ::fcntl(fds[1], F_SETFL, 0);
  ASSERT_GT(prefilled, 0u);
  uint64_t refused = 0;
  {
    LogWriter writer(fds[1], 8192);
    const absl::Time start = absl::Now();
    for (int i = 0; i < kLines; ++i) {
      if (!writer.Append(line)) ++refused;
    }
    // Never waited on the pipe: 20,000 appends take milliseconds; the bound is generous for
    // a loaded machine, and blocking would take forever (nobody reads yet).
    EXPECT_LT(absl::Now() - start, absl::Seconds(20));
    EXPECT_GT(refused, 0u);
    EXPECT_EQ(writer.lines_dropped(), refused);
    EXPECT_FALSE(writer.Flush(absl::Now() + absl::Milliseconds(50)));  // nobody reads
    // Unblocks the writer thread so that the destructor can join it.
    std::string read;
    for (int i = 0; i < 1000 && !writer.Flush(absl::Now() + absl::Milliseconds(10)); ++i) {
      read += ReadAvailable(fds[0]);
    }
    read += ReadAvailable(fds[0]);
    EXPECT_EQ(read.size(), prefilled + (kLines - refused) * line.size());
  }
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST(BackgroundLogWriter, CountsDroppedLinesProcessWide) {
  ::signal(SIGPIPE, SIG_IGN);  // should the writer outlive the pipe: EPIPE, not death
  StderrPipe pipe;
  StartBackgroundLogWriter(4096);
  const uint64_t before = LogLinesDropped();
  for (int i = 0; i < 5000; ++i) TERN_LOG(kError, "line %d %s", i, std::string(80, 'y'));
  EXPECT_GT(LogLinesDropped(), before);
  // Drain, so that the writer thread finishes with this pipe before stderr is restored.
  for (int i = 0; i < 1000; ++i) {
    ReadAvailable(pipe.read_fd());
    FlushLog(absl::Milliseconds(10));
  }
  ReadAvailable(pipe.read_fd());
}

}  // namespace
}  // namespace tern::core
