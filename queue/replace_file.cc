// Implementation of queue/replace_file.h.
#include "queue/replace_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "spool/errno_status.h"

namespace tern::queue {
namespace {

using spool::ErrnoStatus;

std::string DirectoryOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

absl::Status WriteAndSync(int fd, const std::string& path, absl::string_view contents) {
  while (!contents.empty()) {
    const ssize_t n = ::write(fd, contents.data(), contents.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("write", path, errno);
    contents.remove_prefix(static_cast<size_t>(n));
  }
  if (::fsync(fd) != 0) return ErrnoStatus("fsync", path, errno);
  return absl::OkStatus();
}

}  // namespace

absl::Status ReplaceFile(const std::string& path, absl::string_view contents, mode_t mode) {
  const std::string tmp = absl::StrCat(path, ".tmp.", ::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return ErrnoStatus("open", tmp, errno);
  absl::Status written = WriteAndSync(fd, tmp, contents);
  if (::close(fd) != 0 && written.ok()) written = ErrnoStatus("close", tmp, errno);
  if (written.ok() && std::rename(tmp.c_str(), path.c_str()) != 0) {
    written = ErrnoStatus("rename", path, errno);
  }
  if (!written.ok()) {
    ::unlink(tmp.c_str());
    return written;
  }
  // The rename is durable only once the directory is.
  const std::string dir = DirectoryOf(path);
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return ErrnoStatus("open", dir, errno);
  absl::Status synced = absl::OkStatus();
  if (::fsync(dir_fd) != 0) synced = ErrnoStatus("fsync", dir, errno);
  ::close(dir_fd);
  return synced;
}

}  // namespace tern::queue
