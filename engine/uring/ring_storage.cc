// RingStorage: io_uring operations for segment files (sequence: engine/uring/ring_storage.h).
#include "engine/uring/ring_storage.h"

#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/check.h"
#include "spool/errno_status.h"

namespace tern::engine::uring {
namespace {

// Makes room for `sqes` entries so a linked chain is never split across two submissions
// (the kernel would end the link at the submission boundary).
void ReserveSqes(UringLoop* loop, unsigned sqes) {
  io_uring* ring = loop->ring();
  CHECK_LE(sqes, *ring->sq.kring_entries);
  if (io_uring_sq_space_left(ring) < sqes) loop->Submit();
  CHECK_GE(io_uring_sq_space_left(ring), sqes);
}

// What WriteZeros writes from: never written to, shared by every ring of the process (not
// const, so that it lives in .bss rather than as 1 MiB of zeros in the binary).
alignas(4096) char zero_buffer[spool::kZeroWriteBytesMax];
// O_DIRECT wants offsets and lengths in logical blocks: 4 KiB covers the usual 512 and 4096.
constexpr uint64_t kDirectAlignBytes = 4096;
static_assert(spool::kZeroWriteBytesMax % kDirectAlignBytes == 0);

std::string DirectoryOf(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

// One-CQE operation: close, or a NOP carrying a precomputed result.
class RingStorage::SimpleOp final : public core::Completion {
 public:
  SimpleOp(const char* call, std::string path, Done done, absl::Status preset)
      : call_(call), path_(std::move(path)), done_(std::move(done)), preset_(std::move(preset)) {}
  void OnComplete(int32_t res, uint32_t flags) override {
    absl::Status status = preset_;
    if (status.ok() && res < 0) status = spool::ErrnoStatus(call_, path_, -res);
    Done done = std::move(done_);
    delete this;
    done(std::move(status));
  }

 private:
  const char* call_;
  std::string path_;
  Done done_;
  absl::Status preset_;
};

// The sequence of steps that creates and preallocates one segment.
class RingStorage::CreateOp final : public core::Completion {
 public:
  CreateOp(RingStorage* storage, std::string path, uint64_t bytes, Created done)
      : storage_(storage),
        path_(std::move(path)),
        dir_(DirectoryOf(path_)),
        bytes_(bytes),
        done_(std::move(done)) {}

  void Start() {
    stage_ = Stage::kOpenFile;
    io_uring_prep_openat(storage_->loop_->PrepareSqe(this), AT_FDCWD, path_.c_str(),
                         O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  }

  void OnComplete(int32_t res, uint32_t flags) override {
    if (stage_ == Stage::kOpenDirect) {
      // Optional: a file system without O_DIRECT (tmpfs) gets buffered zero writes.
      if (res >= 0) storage_->direct_fds_[fd_] = res;
      return Finish(fd_);
    }
    if (res < 0) return Fail(res);
    UringLoop* loop = storage_->loop_;
    switch (stage_) {
      case Stage::kOpenFile:
        fd_ = res;
        stage_ = Stage::kFallocate;
        io_uring_prep_fallocate(loop->PrepareSqe(this), fd_, 0, 0, static_cast<off_t>(bytes_));
        return;
      case Stage::kFallocate:
        stage_ = Stage::kSyncFile;
        io_uring_prep_fsync(loop->PrepareSqe(this), fd_, 0);
        return;
      case Stage::kSyncFile:
        stage_ = Stage::kOpenDir;
        io_uring_prep_openat(loop->PrepareSqe(this), AT_FDCWD, dir_.c_str(),
                             O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
        return;
      case Stage::kOpenDir:
        dir_fd_ = res;
        stage_ = Stage::kSyncDir;
        io_uring_prep_fsync(loop->PrepareSqe(this), dir_fd_, 0);
        return;
      case Stage::kSyncDir:
        CloseDir();
        stage_ = Stage::kOpenDirect;
        io_uring_prep_openat(loop->PrepareSqe(this), AT_FDCWD, path_.c_str(),
                             O_WRONLY | O_DIRECT | O_CLOEXEC, 0);
        return;
      default:
        CHECK(false);
    }
  }

 private:
  enum class Stage { kIdle, kOpenFile, kFallocate, kSyncFile, kOpenDir, kSyncDir, kOpenDirect };

  static const char* CallName(Stage stage) {
    switch (stage) {
      case Stage::kOpenFile:
        return "openat";
      case Stage::kFallocate:
        return "fallocate";
      case Stage::kSyncFile:
        return "fsync";
      case Stage::kOpenDir:
        return "openat(dir)";
      case Stage::kSyncDir:
        return "fsync(dir)";
      default:
        return "?";
    }
  }

  void CloseDir() {
    if (dir_fd_ < 0) return;
    io_uring_prep_close(storage_->loop_->PrepareSqe(nullptr), dir_fd_);
    dir_fd_ = -1;
  }

  void Fail(int32_t res) {
    const bool on_dir = stage_ == Stage::kOpenDir || stage_ == Stage::kSyncDir;
    absl::Status status = spool::ErrnoStatus(CallName(stage_), on_dir ? dir_ : path_, -res);
    CloseDir();
    if (fd_ >= 0) io_uring_prep_close(storage_->loop_->PrepareSqe(nullptr), fd_);
    Finish(std::move(status));
  }

  void Finish(absl::StatusOr<spool::FileHandle> result) {
    if (result.ok()) storage_->paths_[*result] = path_;
    Created done = std::move(done_);
    delete this;
    done(std::move(result));
  }

  RingStorage* storage_;
  std::string path_;
  std::string dir_;
  uint64_t bytes_;
  Created done_;
  Stage stage_ = Stage::kIdle;
  int fd_ = -1;
  int dir_fd_ = -1;
};

// A linked chain of writevs and an fdatasync; reports once every CQE of the chain arrived.
class RingStorage::WriteOp {
 public:
  WriteOp(std::string path, Done done) : path_(std::move(path)), done_(std::move(done)) {}

  // `bytes` zero bytes from zero_buffer (no write at all for 0: the sync alone).
  void SubmitZeros(UringLoop* loop, spool::FileHandle file, uint64_t offset, uint64_t bytes,
                   spool::SyncMode sync) {
    CHECK_LE(bytes, spool::kZeroWriteBytesMax);
    zero_iov_ = iovec{zero_buffer, static_cast<size_t>(bytes)};
    Submit(loop, file, offset, std::span<const iovec>(&zero_iov_, bytes > 0 ? 1 : 0), sync);
  }

  void Submit(UringLoop* loop, spool::FileHandle file, uint64_t offset, std::span<const iovec> iov,
              spool::SyncMode sync) {
    const size_t writes = (iov.size() + IOV_MAX - 1) / IOV_MAX;
    parts_.resize(writes + (sync == spool::SyncMode::kFdatasync ? 1 : 0));
    ReserveSqes(loop, static_cast<unsigned>(parts_.size()));
    pending_ = parts_.size();
    for (size_t i = 0; i < writes; ++i) {
      const std::span<const iovec> chunk =
          iov.subspan(i * IOV_MAX, std::min<size_t>(IOV_MAX, iov.size() - i * IOV_MAX));
      size_t bytes = 0;
      for (const iovec& v : chunk) bytes += v.iov_len;
      parts_[i] = Part{this, bytes, false};
      io_uring_sqe* sqe = loop->PrepareSqe(&parts_[i]);
      io_uring_prep_writev(sqe, file, chunk.data(), static_cast<unsigned>(chunk.size()), offset);
      if (i + 1 < parts_.size()) sqe->flags |= IOSQE_IO_LINK;
      offset += bytes;
    }
    if (sync == spool::SyncMode::kFdatasync) {
      parts_.back() = Part{this, 0, true};
      io_uring_prep_fsync(loop->PrepareSqe(&parts_.back()), file, IORING_FSYNC_DATASYNC);
    }
  }

 private:
  struct Part final : core::Completion {
    Part() = default;
    Part(WriteOp* op, size_t expected, bool is_sync)
        : op(op), expected(expected), is_sync(is_sync) {}
    void OnComplete(int32_t res, uint32_t flags) override { op->PartDone(this, res); }
    WriteOp* op = nullptr;
    size_t expected = 0;
    bool is_sync = false;
  };

  void PartDone(Part* part, int32_t res) {
    // The first failure in chain order is the cause; later parts report -ECANCELED.
    if (status_.ok() && res != -ECANCELED) {
      if (res < 0) {
        status_ = spool::ErrnoStatus(part->is_sync ? "fdatasync" : "writev", path_, -res);
      } else if (!part->is_sync && static_cast<size_t>(res) != part->expected) {
        status_ = absl::DataLossError(absl::StrCat("writev ", path_, ": short write, ", res, " of ",
                                                   part->expected, " bytes"));
      }
    } else if (status_.ok() && res == -ECANCELED) {
      cancelled_ = true;
    }
    if (--pending_ > 0) return;
    if (status_.ok() && cancelled_) {
      status_ = absl::UnavailableError(absl::StrCat("writev ", path_, ": chain cancelled"));
    }
    absl::Status status = std::move(status_);
    Done done = std::move(done_);
    delete this;
    done(std::move(status));
  }

  std::string path_;
  Done done_;
  std::vector<Part> parts_;
  iovec zero_iov_{};  // SubmitZeros' one iovec: must live as long as the writev
  size_t pending_ = 0;
  bool cancelled_ = false;
  absl::Status status_;
};

std::string RingStorage::PathOf(spool::FileHandle file) const {
  auto it = paths_.find(file);
  return it == paths_.end() ? absl::StrCat("fd ", file) : it->second;
}

void RingStorage::CreateSegment(std::string path, uint64_t bytes, Created done) {
  (new CreateOp(this, std::move(path), bytes, std::move(done)))->Start();
}

void RingStorage::WriteAndSync(spool::FileHandle file, uint64_t offset, std::span<const iovec> iov,
                               spool::SyncMode sync, Done done) {
  CHECK(!iov.empty());
  (new WriteOp(PathOf(file), std::move(done)))->Submit(loop_, file, offset, iov, sync);
}

void RingStorage::WriteZeros(spool::FileHandle file, uint64_t offset, uint64_t bytes,
                             spool::SyncMode sync, Done done) {
  CHECK(bytes > 0 || sync == spool::SyncMode::kFdatasync);
  spool::FileHandle to = file;
  if (bytes > 0) {
    auto direct = direct_fds_.find(file);
    if (direct != direct_fds_.end() && offset % kDirectAlignBytes == 0 &&
        bytes % kDirectAlignBytes == 0) {
      to = direct->second;
    } else {
      sync = spool::SyncMode::kFdatasync;  // buffered: never leave more than `bytes` dirty behind
    }
  }
  (new WriteOp(PathOf(file), std::move(done)))->SubmitZeros(loop_, to, offset, bytes, sync);
}

void RingStorage::Truncate(spool::FileHandle file, uint64_t bytes, Done done) {
  absl::Status status;
  if (::ftruncate(file, static_cast<off_t>(bytes)) != 0) {
    status = spool::ErrnoStatus("ftruncate", PathOf(file), errno);
  }
  auto* op = new SimpleOp("nop", PathOf(file), std::move(done), std::move(status));
  io_uring_prep_nop(loop_->PrepareSqe(op));
}

void RingStorage::Close(spool::FileHandle file, Done done) {
  auto it = paths_.find(file);
  std::string path = it == paths_.end() ? absl::StrCat("fd ", file) : it->second;
  if (it != paths_.end()) paths_.erase(it);
  if (auto direct = direct_fds_.find(file); direct != direct_fds_.end()) {
    io_uring_prep_close(loop_->PrepareSqe(nullptr), direct->second);
    direct_fds_.erase(direct);
  }
  auto* op = new SimpleOp("close", std::move(path), std::move(done), absl::OkStatus());
  io_uring_prep_close(loop_->PrepareSqe(op), file);
}

}  // namespace tern::engine::uring
