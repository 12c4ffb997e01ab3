// Implementation of core/process_stats.h.
#include "core/process_stats.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace tern::core {
namespace {

// /proc files are small; anything past this is not what we expect.
constexpr size_t kProcFileBytesMax = 64 * 1024;

absl::Status SystemError(absl::string_view call, absl::string_view path, int err) {
  return absl::ErrnoToStatus(err, absl::StrCat(call, " ", path));
}

absl::StatusOr<std::string> ReadSmallFile(const char* path) {
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return SystemError("open", path, errno);
  std::string text;
  char buffer[4096];
  while (text.size() < kProcFileBytesMax) {
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      close(fd);
      return SystemError("read", path, err);
    }
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  return text;
}

absl::StatusOr<uint64_t> CountOpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return SystemError("opendir", "/proc/self/fd", errno);
  uint64_t entries = 0;
  while (const dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++entries;
  }
  closedir(dir);
  // The directory's own descriptor was listed too.
  return entries == 0 ? 0 : entries - 1;
}

}  // namespace

absl::StatusOr<ProcStatFields> ParseProcStat(absl::string_view text) {
  const size_t close_paren = text.rfind(')');
  if (close_paren == absl::string_view::npos) {
    return absl::InvalidArgumentError("/proc/self/stat: no ')' after the command name");
  }
  // Fields from 3 (state) on, separated by single spaces.
  const std::vector<absl::string_view> fields =
      absl::StrSplit(text.substr(close_paren + 1), ' ', absl::SkipWhitespace());
  constexpr size_t kFirstField = 3;
  auto field = [&](size_t number, uint64_t* value) {
    const size_t i = number - kFirstField;
    return i < fields.size() && absl::SimpleAtoi(fields[i], value);
  };
  ProcStatFields out;
  if (!field(14, &out.utime_ticks) || !field(15, &out.stime_ticks) ||
      !field(22, &out.starttime_ticks) || !field(23, &out.vsize_bytes) ||
      !field(24, &out.rss_pages)) {
    return absl::InvalidArgumentError("/proc/self/stat: fields 14, 15, 22, 23, 24 unreadable");
  }
  return out;
}

absl::StatusOr<uint64_t> ParseBootTime(absl::string_view proc_stat_text) {
  for (absl::string_view line : absl::StrSplit(proc_stat_text, '\n')) {
    if (!absl::ConsumePrefix(&line, "btime ")) continue;
    uint64_t seconds = 0;
    if (!absl::SimpleAtoi(line, &seconds)) break;
    return seconds;
  }
  return absl::InvalidArgumentError("/proc/stat: no btime line");
}

absl::StatusOr<ProcessStats> ReadProcessStats() {
  absl::StatusOr<std::string> stat_text = ReadSmallFile("/proc/self/stat");
  if (!stat_text.ok()) return stat_text.status();
  absl::StatusOr<ProcStatFields> stat = ParseProcStat(*stat_text);
  if (!stat.ok()) return stat.status();
  absl::StatusOr<std::string> system_text = ReadSmallFile("/proc/stat");
  if (!system_text.ok()) return system_text.status();
  absl::StatusOr<uint64_t> boot_seconds = ParseBootTime(*system_text);
  if (!boot_seconds.ok()) return boot_seconds.status();
  absl::StatusOr<uint64_t> open_fds = CountOpenFds();
  if (!open_fds.ok()) return open_fds.status();
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return SystemError("getrlimit", "NOFILE", errno);
  const long ticks_per_second = sysconf(_SC_CLK_TCK);
  const long page_bytes = sysconf(_SC_PAGESIZE);
  if (ticks_per_second <= 0 || page_bytes <= 0) {
    return absl::InternalError("sysconf: no clock tick or page size");
  }
  const auto ticks_to_micros = [&](uint64_t ticks) {
    const uint64_t hz = static_cast<uint64_t>(ticks_per_second);
    return ticks / hz * 1'000'000 + ticks % hz * 1'000'000 / hz;
  };
  ProcessStats out;
  out.cpu_micros = ticks_to_micros(stat->utime_ticks + stat->stime_ticks);
  out.resident_memory_bytes = stat->rss_pages * static_cast<uint64_t>(page_bytes);
  out.virtual_memory_bytes = stat->vsize_bytes;
  out.open_fds = *open_fds;
  out.max_fds = limit.rlim_cur;
  out.start_time_unix_micros = *boot_seconds * 1'000'000 + ticks_to_micros(stat->starttime_ticks);
  return out;
}

}  // namespace tern::core
