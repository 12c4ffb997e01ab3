// Implementation of core/log.h: formats one line and writes it with a single write(2) (or
// hands it whole to the writer thread) so lines from different shards never interleave.
#include "core/log.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/check.h"
#include "core/log_output.h"
#include "core/log_writer.h"

namespace tern::core {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
// -1: not detected yet; 0/1: whether stderr is the journal.
std::atomic<int> g_journal{-1};
// Set once by StartBackgroundLogWriter and never destroyed (threads may log until exit).
std::atomic<LogWriter*> g_writer{nullptr};
thread_local int t_shard_id = -1;

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "D";
    case LogLevel::kInfo:
      return "I";
    case LogLevel::kWarning:
      return "W";
    case LogLevel::kError:
      return "E";
  }
  return "?";
}

// sd-daemon(3) priorities: LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG.
const char* JournalPrefix(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "<7>";
    case LogLevel::kInfo:
      return "<6>";
    case LogLevel::kWarning:
      return "<4>";
    case LogLevel::kError:
      return "<3>";
  }
  return "<6>";
}

bool Journal() {
  int journal = g_journal.load(std::memory_order_relaxed);
  if (journal < 0) {
    journal = StderrIsJournalStream() ? 1 : 0;
    g_journal.store(journal, std::memory_order_relaxed);
  }
  return journal == 1;
}

void WriteAll(absl::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(STDERR_FILENO, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    text.remove_prefix(static_cast<size_t>(n));
  }
}

std::string Format(LogLevel level, const char* file, int line, absl::string_view message) {
  const char* base = strrchr(file, '/');
  base = base ? base + 1 : file;
  return FormatLogLine(level, Journal(), absl::Now(),
                       t_shard_id < 0 ? std::string("main") : absl::StrCat("shard", t_shard_id),
                       base, line, message);
}
}  // namespace

void SetLogLevel(LogLevel level) { g_level.store(static_cast<int>(level)); }
bool LogEnabled(LogLevel level) {
  return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}
void SetThreadShardId(int shard_id) { t_shard_id = shard_id; }

std::string FormatLogLine(LogLevel level, bool journal, absl::Time time, absl::string_view thread,
                          absl::string_view file_base, int line, absl::string_view message) {
  return absl::StrFormat("%s%s %s %s %s:%d] %s\n", journal ? JournalPrefix(level) : "",
                         LevelName(level),
                         absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone()),
                         thread, file_base, line, message);
}

bool StderrIsJournalStream() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  if (stream == nullptr) return false;
  std::pair<std::string, std::string> parts = absl::StrSplit(stream, absl::MaxSplits(':', 1));
  uint64_t device = 0;
  uint64_t inode = 0;
  if (!absl::SimpleAtoi(parts.first, &device) || !absl::SimpleAtoi(parts.second, &inode)) {
    return false;
  }
  struct stat status {};
  if (::fstat(STDERR_FILENO, &status) != 0) return false;
  return static_cast<uint64_t>(status.st_dev) == device &&
         static_cast<uint64_t>(status.st_ino) == inode;
}

void StartBackgroundLogWriter(size_t buffer_bytes_max) {
  g_journal.store(StderrIsJournalStream() ? 1 : 0, std::memory_order_relaxed);
  if (g_writer.load() != nullptr) return;
  // A regular file takes every write without waiting for a reader: lines stay synchronous
  // there (and are in the file when the call returns). Pipes, sockets (journald) and
  // terminals can stall: those get the writer thread.
  struct stat status {};
  if (::fstat(STDERR_FILENO, &status) == 0 && S_ISREG(status.st_mode)) return;
  auto* writer = new LogWriter(STDERR_FILENO, buffer_bytes_max);
  LogWriter* expected = nullptr;
  if (!g_writer.compare_exchange_strong(expected, writer)) delete writer;
}

void FlushLog(absl::Duration timeout) {
  if (LogWriter* writer = g_writer.load(); writer != nullptr) writer->Flush(absl::Now() + timeout);
}

uint64_t LogLinesDropped() {
  LogWriter* writer = g_writer.load();
  return writer != nullptr ? writer->lines_dropped() : 0;
}

void LogLine(LogLevel level, const char* file, int line, absl::string_view message) {
  std::string out = Format(level, file, line, message);
  if (LogWriter* writer = g_writer.load(std::memory_order_acquire); writer != nullptr) {
    writer->Append(out);  // a full buffer drops the line and counts it
    return;
  }
  WriteAll(out);
}

[[noreturn]] void CheckFailed(const char* file, int line, const char* expr) {
  // What was logged before the failure goes first, then this line, written synchronously.
  FlushLog(absl::Seconds(1));
  WriteAll(Format(LogLevel::kError, file, line, absl::StrCat("CHECK failed: ", expr)));
  std::abort();
}

}  // namespace tern::core
