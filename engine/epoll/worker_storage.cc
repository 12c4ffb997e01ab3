// Implementation of engine/epoll/worker_storage.h: each operation one FileWorker job that
// names the system call that failed.
#include "engine/epoll/worker_storage.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/check.h"
#include "engine/epoll/file_worker.h"
#include "spool/errno_status.h"

namespace tern::engine::epoll {
namespace {

using spool::ErrnoStatus;
using spool::FileHandle;

// What a job leaves for its callback: the result, and which call failed on what.
struct Outcome {
  int32_t result = 0;  // >= 0: success (an fd, for opens); < 0: -errno
  const char* call = "";
  std::string on;  // the path the failed call was about
  bool short_read = false;
  size_t read_bytes = 0;

  int32_t Fail(const char* failed_call, std::string path) {
    result = -errno;
    call = failed_call;
    on = std::move(path);
    return result;
  }
  absl::Status status() const {
    if (short_read) return absl::DataLossError(absl::StrCat("read ", on, ": end of file"));
    return result >= 0 ? absl::OkStatus() : ErrnoStatus(call, on, -result);
  }
};

// Runs the callback on the loop's thread, then frees itself.
class JobDone final : public core::Completion {
 public:
  explicit JobDone(absl::AnyInvocable<void()> fn) : fn_(std::move(fn)) {}
  void OnComplete(int32_t, uint32_t) override {
    absl::AnyInvocable<void()> fn = std::move(fn_);
    delete this;
    fn();
  }

 private:
  absl::AnyInvocable<void()> fn_;
};

std::string DirectoryOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// fsync of `path`'s directory: its entries (a created or removed file) are durable after.
int32_t SyncDirectoryOf(const std::string& path, Outcome* out) {
  const std::string dir = DirectoryOf(path);
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return out->Fail("openat(dir)", dir);
  if (::fsync(fd) != 0) {
    out->Fail("fsync(dir)", dir);
    ::close(fd);
    return out->result;
  }
  ::close(fd);
  return 0;
}

}  // namespace

std::string WorkerStorage::PathOf(FileHandle file) const {
  auto it = paths_.find(file);
  return it != paths_.end() ? it->second : absl::StrCat("fd ", file);
}

void WorkerStorage::CreateSegment(std::string path, uint64_t bytes, Created done) {
  auto out = std::make_shared<Outcome>();
  loop_->file_worker()->Submit(
      [out, path, bytes]() -> int32_t {
        const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
        if (fd < 0) return out->Fail("openat", path);
        if (::fallocate(fd, 0, 0, static_cast<off_t>(bytes)) != 0) {
          out->Fail("fallocate", path);
        } else if (::fsync(fd) != 0) {
          out->Fail("fsync", path);
        } else if (SyncDirectoryOf(path, out.get()) == 0) {
          out->result = fd;
          return fd;
        }
        ::close(fd);
        return out->result;
      },
      new JobDone([this, out, path, done = std::move(done)]() mutable {
        if (out->result < 0) return done(out->status());
        paths_[out->result] = path;
        done(FileHandle{out->result});
      }));
}

void WorkerStorage::WriteAndSync(FileHandle file, uint64_t offset, std::span<const iovec> iov,
                                 spool::SyncMode sync, Done done) {
  auto out = std::make_shared<Outcome>();
  const std::string path = PathOf(file);
  loop_->file_worker()->Submit(
      [out, file, offset, iov, sync, path]() -> int32_t {
        // Copied, because a short write advances into the current piece.
        std::vector<iovec> rest(iov.begin(), iov.end());
        size_t next = 0;
        uint64_t at = offset;
        while (next < rest.size()) {
          const int count = static_cast<int>(std::min<size_t>(rest.size() - next, IOV_MAX));
          const ssize_t n = ::pwritev(file, rest.data() + next, count, static_cast<off_t>(at));
          if (n < 0) {
            if (errno == EINTR) continue;
            return out->Fail("writev", path);
          }
          if (n == 0) {
            errno = EIO;
            return out->Fail("writev", path);
          }
          at += static_cast<uint64_t>(n);
          size_t left = static_cast<size_t>(n);
          while (left > 0 && next < rest.size()) {
            const size_t used = std::min(left, rest[next].iov_len);
            rest[next].iov_base = static_cast<char*>(rest[next].iov_base) + used;
            rest[next].iov_len -= used;
            left -= used;
            if (rest[next].iov_len == 0) ++next;
          }
          while (next < rest.size() && rest[next].iov_len == 0) ++next;
        }
        if (sync == spool::SyncMode::kFdatasync && ::fdatasync(file) != 0) {
          return out->Fail("fdatasync", path);
        }
        return 0;
      },
      new JobDone([out, done = std::move(done)]() mutable { done(out->status()); }));
}

void WorkerStorage::WriteZeros(FileHandle file, uint64_t offset, uint64_t bytes,
                               spool::SyncMode sync, Done done) {
  CHECK_LE(bytes, spool::kZeroWriteBytesMax);
  // Shared by every call: never written, so read by the worker threads without a lock.
  static const char* const kZeros = new char[spool::kZeroWriteBytesMax]();
  auto out = std::make_shared<Outcome>();
  const std::string path = PathOf(file);
  loop_->file_worker()->Submit(
      [out, file, offset, bytes, sync, path]() -> int32_t {
        uint64_t done_bytes = 0;
        while (done_bytes < bytes) {
          const ssize_t n = ::pwrite(file, kZeros, static_cast<size_t>(bytes - done_bytes),
                                     static_cast<off_t>(offset + done_bytes));
          if (n < 0) {
            if (errno == EINTR) continue;
            return out->Fail("write", path);
          }
          if (n == 0) {
            errno = EIO;
            return out->Fail("write", path);
          }
          done_bytes += static_cast<uint64_t>(n);
        }
        // Buffered zeros are synced even under kNone, so they never pile up as dirty pages.
        if ((bytes > 0 || sync == spool::SyncMode::kFdatasync) && ::fdatasync(file) != 0) {
          return out->Fail("fdatasync", path);
        }
        return 0;
      },
      new JobDone([out, done = std::move(done)]() mutable { done(out->status()); }));
}

void WorkerStorage::Truncate(FileHandle file, uint64_t bytes, Done done) {
  auto out = std::make_shared<Outcome>();
  const std::string path = PathOf(file);
  loop_->file_worker()->Submit(
      [out, file, bytes, path]() -> int32_t {
        if (::ftruncate(file, static_cast<off_t>(bytes)) != 0) return out->Fail("ftruncate", path);
        return 0;
      },
      new JobDone([out, done = std::move(done)]() mutable { done(out->status()); }));
}

void WorkerStorage::Close(FileHandle file, Done done) {
  auto out = std::make_shared<Outcome>();
  const std::string path = PathOf(file);
  paths_.erase(file);
  loop_->file_worker()->Submit(
      [out, file, path]() -> int32_t {
        if (::close(file) != 0) return out->Fail("close", path);
        return 0;
      },
      new JobDone([out, done = std::move(done)]() mutable { done(out->status()); }));
}

void WorkerStorage::OpenForRead(std::string path, Created done) {
  auto out = std::make_shared<Outcome>();
  loop_->file_worker()->Submit(
      [out, path]() -> int32_t {
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return out->Fail("openat", path);
        out->result = fd;
        return fd;
      },
      new JobDone([this, out, path, done = std::move(done)]() mutable {
        if (out->result < 0) return done(out->status());
        paths_[out->result] = path;
        done(FileHandle{out->result});
      }));
}

void WorkerStorage::Read(FileHandle file, uint64_t offset, size_t bytes, core::ByteBuffer* into,
                         Done done) {
  into->Clear();
  char* to = into->Extend(bytes);  // on the loop's thread; the worker only fills it
  auto out = std::make_shared<Outcome>();
  const std::string path = PathOf(file);
  loop_->file_worker()->Submit(
      [out, file, offset, bytes, to, path]() -> int32_t {
        size_t got = 0;
        while (got < bytes) {
          const ssize_t n = ::pread(file, to + got, bytes - got, static_cast<off_t>(offset + got));
          if (n < 0) {
            if (errno == EINTR) continue;
            return out->Fail("read", path);
          }
          if (n == 0) {
            out->short_read = true;
            out->on = path;
            return 0;
          }
          got += static_cast<size_t>(n);
        }
        return 0;
      },
      new JobDone([out, done = std::move(done)]() mutable { done(out->status()); }));
}

void WorkerStorage::DeleteFile(std::string path, Done done) {
  auto out = std::make_shared<Outcome>();
  loop_->file_worker()->Submit(
      [out, path]() -> int32_t {
        if (::unlink(path.c_str()) != 0) return out->Fail("unlinkat", path);
        return SyncDirectoryOf(path, out.get());
      },
      new JobDone([out, done = std::move(done)]() mutable { done(out->status()); }));
}

}  // namespace tern::engine::epoll
