// Segment file naming, directory listing and durable directory creation (blocking: used at
// start-up only).
#include "spool/segment_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "spool/errno_status.h"
#include "spool/record_format.h"

namespace tern::spool {

std::string ShardDirectory(absl::string_view spool_dir, int shard_id) {
  return absl::StrFormat("%s/shard-%d", spool_dir, shard_id);
}

std::string QuarantineDirectory(absl::string_view shard_dir) {
  return absl::StrCat(shard_dir, "/quarantine");
}

std::string SegmentFileName(uint64_t segment) {
  return absl::StrFormat("%0*d.seg", kSegmentNumberDigits, segment);
}

std::string SegmentPath(absl::string_view shard_dir, uint64_t segment) {
  return absl::StrCat(shard_dir, "/", SegmentFileName(segment));
}

std::optional<uint64_t> ParseSegmentFileName(absl::string_view name) {
  constexpr absl::string_view kSuffix = ".seg";
  if (name.size() != kSegmentNumberDigits + kSuffix.size()) return std::nullopt;
  if (name.substr(kSegmentNumberDigits) != kSuffix) return std::nullopt;
  uint64_t n = 0;
  for (char c : name.substr(0, kSegmentNumberDigits)) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  return n;
}

absl::StatusOr<std::vector<uint64_t>> ListSegments(const std::string& shard_dir) {
  DIR* dir = ::opendir(shard_dir.c_str());
  if (dir == nullptr) return ErrnoStatus("opendir", shard_dir, errno);
  std::vector<uint64_t> numbers;
  errno = 0;
  while (const dirent* entry = ::readdir(dir)) {
    if (auto n = ParseSegmentFileName(entry->d_name)) numbers.push_back(*n);
  }
  const int err = errno;
  ::closedir(dir);
  if (err != 0) return ErrnoStatus("readdir", shard_dir, err);
  std::sort(numbers.begin(), numbers.end());
  return numbers;
}

absl::Status SyncDirectory(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open", path, errno);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return ErrnoStatus("fsync", path, err);
  return absl::OkStatus();
}

absl::Status MakeDirectoryDurable(const std::string& path) {
  if (::mkdir(path.c_str(), 0750) != 0) {
    if (errno == EEXIST) return absl::OkStatus();
    return ErrnoStatus("mkdir", path, errno);
  }
  const size_t slash = path.find_last_of('/');
  return SyncDirectory(slash == std::string::npos ? "."
                                                  : (slash == 0 ? "/" : path.substr(0, slash)));
}

}  // namespace tern::spool
