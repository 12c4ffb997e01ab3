// Diagnostic logging: one line per event, "LEVEL time shard file:line message", to stderr.
// Debian's abseil has no absl/log, so this is a minimal replacement.
//
//   TERN_LOG(kInfo, "shard %d listening on %s", shard_id, address);
#pragma once

#include <atomic>

#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"

namespace tern::core {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Messages below this level are dropped (set once at start-up from --log_level).
void SetLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);
// The shard id printed in log lines from the calling thread (-1: not a shard).
void SetThreadShardId(int shard_id);
void LogLine(LogLevel level, const char* file, int line, absl::string_view message);

}  // namespace tern::core

#define TERN_LOG(level, ...)                                                   \
  do {                                                                         \
    if (::tern::core::LogEnabled(::tern::core::LogLevel::level)) {             \
      ::tern::core::LogLine(::tern::core::LogLevel::level, __FILE__, __LINE__, \
                            ::absl::StrFormat(__VA_ARGS__));                   \
    }                                                                          \
  } while (0)
