// RingStorage's read and delete operations: OpenForRead, Read and DeleteFile (sequences:
// engine/uring/ring_storage.h). The write path and segment creation are in ring_storage.cc.
#include <fcntl.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "core/check.h"
#include "engine/uring/ring_storage.h"
#include "spool/errno_status.h"

namespace tern::engine::uring {
namespace {

std::string DirectoryOf(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

// OPENAT read-only of an existing segment.
class RingStorage::OpenReadOp final : public core::Completion {
 public:
  OpenReadOp(RingStorage* storage, std::string path, Created done)
      : storage_(storage), path_(std::move(path)), done_(std::move(done)) {}
  void Start() {
    io_uring_prep_openat(storage_->loop_->PrepareSqe(this), AT_FDCWD, path_.c_str(),
                         O_RDONLY | O_CLOEXEC, 0);
  }
  void OnComplete(int32_t res, uint32_t flags) override {
    absl::StatusOr<spool::FileHandle> result = res;
    if (res < 0) {
      result = spool::ErrnoStatus("openat", path_, -res);
    } else {
      storage_->paths_[res] = path_;
    }
    Created done = std::move(done_);
    delete this;
    done(std::move(result));
  }

 private:
  RingStorage* storage_;
  std::string path_;
  Created done_;
};

// READ at an offset until `bytes` arrived; a short read continues where it stopped.
class RingStorage::ReadOp final : public core::Completion {
 public:
  ReadOp(UringLoop* loop, spool::FileHandle file, std::string path, uint64_t offset, size_t bytes,
         core::ByteBuffer* into, Done done)
      : loop_(loop),
        file_(file),
        path_(std::move(path)),
        offset_(offset),
        bytes_(bytes),
        into_(into),
        done_(std::move(done)) {}
  void Start() {
    into_->Clear();
    into_->Extend(bytes_);
    if (bytes_ == 0) {
      io_uring_prep_nop(loop_->PrepareSqe(this));
      return;
    }
    Submit();
  }
  void OnComplete(int32_t res, uint32_t flags) override {
    if (res < 0) return Finish(spool::ErrnoStatus("read", path_, -res));
    if (bytes_ == 0) return Finish(absl::OkStatus());
    if (res == 0) {
      return Finish(absl::DataLossError(absl::StrCat("read ", path_, ": end of file at offset ",
                                                     offset_ + done_bytes_, ", ",
                                                     bytes_ - done_bytes_, " bytes missing")));
    }
    done_bytes_ += static_cast<size_t>(res);
    CHECK_LE(done_bytes_, bytes_);
    if (done_bytes_ == bytes_) return Finish(absl::OkStatus());
    Submit();
  }

 private:
  void Submit() {
    // A single READ moves at most this much (the kernel's MAX_RW_COUNT is near 2 GiB).
    constexpr size_t kReadBytesMax = size_t{1} << 30;
    const size_t n = std::min(bytes_ - done_bytes_, kReadBytesMax);
    io_uring_prep_read(loop_->PrepareSqe(this), file_, into_->data() + done_bytes_,
                       static_cast<unsigned>(n), offset_ + done_bytes_);
  }
  void Finish(absl::Status status) {
    if (!status.ok()) into_->Clear();
    Done done = std::move(done_);
    delete this;
    done(std::move(status));
  }

  UringLoop* loop_;
  spool::FileHandle file_;
  std::string path_;
  uint64_t offset_;
  size_t bytes_;
  core::ByteBuffer* into_;
  Done done_;
  size_t done_bytes_ = 0;
};

// UNLINKAT, then the directory's fsync so the removal is durable before the next one.
class RingStorage::DeleteOp final : public core::Completion {
 public:
  DeleteOp(UringLoop* loop, std::string path, Done done)
      : loop_(loop), path_(std::move(path)), dir_(DirectoryOf(path_)), done_(std::move(done)) {}
  void Start() {
    stage_ = Stage::kUnlink;
    io_uring_prep_unlinkat(loop_->PrepareSqe(this), AT_FDCWD, path_.c_str(), 0);
  }
  void OnComplete(int32_t res, uint32_t flags) override {
    if (res < 0) {
      absl::Status status = spool::ErrnoStatus(
          stage_ == Stage::kUnlink ? "unlinkat"
                                   : (stage_ == Stage::kOpenDir ? "openat(dir)" : "fsync(dir)"),
          stage_ == Stage::kUnlink ? path_ : dir_, -res);
      return Finish(std::move(status));
    }
    switch (stage_) {
      case Stage::kUnlink:
        stage_ = Stage::kOpenDir;
        io_uring_prep_openat(loop_->PrepareSqe(this), AT_FDCWD, dir_.c_str(),
                             O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
        return;
      case Stage::kOpenDir:
        dir_fd_ = res;
        stage_ = Stage::kSyncDir;
        io_uring_prep_fsync(loop_->PrepareSqe(this), dir_fd_, 0);
        return;
      case Stage::kSyncDir:
        return Finish(absl::OkStatus());
    }
  }

 private:
  enum class Stage { kUnlink, kOpenDir, kSyncDir };
  void Finish(absl::Status status) {
    if (dir_fd_ >= 0) io_uring_prep_close(loop_->PrepareSqe(nullptr), dir_fd_);
    Done done = std::move(done_);
    delete this;
    done(std::move(status));
  }

  UringLoop* loop_;
  std::string path_;
  std::string dir_;
  Done done_;
  Stage stage_ = Stage::kUnlink;
  int dir_fd_ = -1;
};

void RingStorage::OpenForRead(std::string path, Created done) {
  (new OpenReadOp(this, std::move(path), std::move(done)))->Start();
}

void RingStorage::Read(spool::FileHandle file, uint64_t offset, size_t bytes,
                       core::ByteBuffer* into, Done done) {
  CHECK(into != nullptr);
  (new ReadOp(loop_, file, PathOf(file), offset, bytes, into, std::move(done)))->Start();
}

void RingStorage::DeleteFile(std::string path, Done done) {
  (new DeleteOp(loop_, std::move(path), std::move(done)))->Start();
}

}  // namespace tern::engine::uring
