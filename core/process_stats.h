// ProcessStats: what the Prometheus client libraries export as process_* on Linux, read
// from /proc/self/stat, /proc/stat (boot time), /proc/self/fd and getrlimit(RLIMIT_NOFILE).
// Blocking file reads: call it from the admin thread, never from a shard.
//
//   absl::StatusOr<ProcessStats> stats = ReadProcessStats();
//   if (stats.ok()) ... stats->resident_memory_bytes ...
#pragma once

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tern::core {

struct ProcessStats {
  uint64_t cpu_micros = 0;  // user + system CPU time
  uint64_t resident_memory_bytes = 0;
  uint64_t virtual_memory_bytes = 0;
  uint64_t open_fds = 0;
  uint64_t max_fds = 0;                 // the soft RLIMIT_NOFILE
  uint64_t start_time_unix_micros = 0;  // when the process started
};

// The fields of /proc/<pid>/stat this needs (proc(5)), in the kernel's units.
struct ProcStatFields {
  uint64_t utime_ticks = 0;      // field 14
  uint64_t stime_ticks = 0;      // field 15
  uint64_t starttime_ticks = 0;  // field 22: after boot
  uint64_t vsize_bytes = 0;      // field 23
  uint64_t rss_pages = 0;        // field 24
};

// Parses the text of /proc/<pid>/stat. The command name (field 2) is in parentheses and may
// itself hold spaces and parentheses: the fields are counted from the last ')'.
absl::StatusOr<ProcStatFields> ParseProcStat(absl::string_view text);

// The boot time (seconds since the epoch) from the text of /proc/stat's "btime" line.
absl::StatusOr<uint64_t> ParseBootTime(absl::string_view proc_stat_text);

// Reads this process's figures.
absl::StatusOr<ProcessStats> ReadProcessStats();

}  // namespace tern::core
