// The event journal's durable cursor file (events/journal_cursor.h).
#include "events/journal_cursor.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"

namespace tern::events {
namespace {

constexpr absl::string_view kMagic = "TERNEVC1";
constexpr size_t kCursorFileBytes = 8 + 8 + 4;

uint32_t Crc(const char* bytes, size_t size) {
  return static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(bytes), size));
}

}  // namespace

absl::Status JournalErrnoStatus(absl::string_view call, absl::string_view file, int err) {
  std::string message =
      absl::StrCat(call, " ", file, ": ", std::strerror(err), " (errno ", err, ")");
  if (err == ENOSPC || err == EDQUOT) return absl::ResourceExhaustedError(message);
  if (err == EIO) return absl::DataLossError(message);
  return absl::UnavailableError(message);
}

absl::Status SyncDirectory(absl::string_view directory) {
  std::string path(directory);
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return JournalErrnoStatus("open", path, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return JournalErrnoStatus("fsync", path, err);
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> LoadJournalCursor(absl::string_view directory) {
  std::string path = absl::StrCat(directory, "/cursor");
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) return 0;
  if (fd < 0) return JournalErrnoStatus("open", path, errno);
  char bytes[kCursorFileBytes + 1];
  ssize_t n = ::pread(fd, bytes, sizeof(bytes), 0);
  int err = errno;
  ::close(fd);
  if (n < 0) return JournalErrnoStatus("pread", path, err);
  if (static_cast<size_t>(n) != kCursorFileBytes || absl::string_view(bytes, 8) != kMagic) {
    return absl::DataLossError(absl::StrCat(path, ": not a cursor file"));
  }
  uint64_t sequence;
  uint32_t crc;
  std::memcpy(&sequence, bytes + 8, sizeof(sequence));
  std::memcpy(&crc, bytes + 16, sizeof(crc));
  if (Crc(bytes, 16) != crc) return absl::DataLossError(absl::StrCat(path, ": bad checksum"));
  return sequence;
}

absl::Status StoreJournalCursor(absl::string_view directory, uint64_t sequence) {
  char bytes[kCursorFileBytes];
  std::memcpy(bytes, kMagic.data(), 8);
  std::memcpy(bytes + 8, &sequence, sizeof(sequence));
  uint32_t crc = Crc(bytes, 16);
  std::memcpy(bytes + 16, &crc, sizeof(crc));
  std::string path = absl::StrCat(directory, "/cursor");
  std::string temp = absl::StrCat(path, ".tmp");
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return JournalErrnoStatus("open", temp, errno);
  ssize_t n = ::pwrite(fd, bytes, sizeof(bytes), 0);
  int err = errno;
  if (n != static_cast<ssize_t>(sizeof(bytes))) {
    ::close(fd);
    return JournalErrnoStatus("pwrite", temp, n < 0 ? err : ENOSPC);
  }
  if (::fdatasync(fd) != 0) {
    err = errno;
    ::close(fd);
    return JournalErrnoStatus("fdatasync", temp, err);
  }
  ::close(fd);
  if (::rename(temp.c_str(), path.c_str()) != 0) return JournalErrnoStatus("rename", temp, errno);
  return SyncDirectory(directory);
}

}  // namespace tern::events
