// Implementation of core/log.h: formats one line and writes it with a single write(2) so
// lines from different shards never interleave.
#include "core/log.h"

#include <unistd.h>

#include <cstring>
#include <ctime>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/check.h"

namespace tern::core {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
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
}  // namespace

void SetLogLevel(LogLevel level) { g_level.store(static_cast<int>(level)); }
bool LogEnabled(LogLevel level) {
  return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}
void SetThreadShardId(int shard_id) { t_shard_id = shard_id; }

void LogLine(LogLevel level, const char* file, int line, absl::string_view message) {
  const char* base = strrchr(file, '/');
  base = base ? base + 1 : file;
  std::string out =
      absl::StrFormat("%s %s %s %s:%d] %s\n", LevelName(level),
                      absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()),
                      t_shard_id < 0 ? std::string("main") : absl::StrCat("shard", t_shard_id),
                      base, line, message);
  ssize_t ignored = ::write(STDERR_FILENO, out.data(), out.size());
  (void)ignored;
}

[[noreturn]] void CheckFailed(const char* file, int line, const char* expr) {
  LogLine(LogLevel::kError, file, line, absl::StrCat("CHECK failed: ", expr));
  std::abort();
}

}  // namespace tern::core
