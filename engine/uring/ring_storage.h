// RingStorage: the StorageBackend on the shard's io_uring ring (engine::UringLoop).
//
//   WriteAndSync  -> WRITEV (one per IOV_MAX iovecs, each IOSQE_IO_LINK'ed to the next)
//                    -> FSYNC(IORING_FSYNC_DATASYNC); the chain is always submitted whole.
//   WriteZeros    -> WRITEV of one iovec from a static zero buffer, linked to the fdatasync
//                    under kFdatasync (or the fdatasync alone for 0 bytes). Through the
//                    segment's O_DIRECT descriptor when it has one and the range is 4 KiB
//                    aligned (no page cache: nothing to flush later, no copy); otherwise
//                    buffered and always linked to an fdatasync, so that zeros never pile up
//                    as dirty pages ahead of the commits.
//   CreateSegment -> OPENAT(O_CREAT) -> FALLOCATE -> FSYNC(file) -> OPENAT(dir) -> FSYNC(dir)
//                    -> CLOSE(dir) -> OPENAT(O_DIRECT, optional: kept for WriteZeros), one
//                    step per completion.
//   Close         -> CLOSE (and of the O_DIRECT descriptor).
//   OpenForRead   -> OPENAT(O_RDONLY).
//   Read          -> READ at the offset, resubmitted for the rest after a short read
//                    (a read of 0 bytes: end of file, DataLoss).
//   DeleteFile    -> UNLINKAT -> OPENAT(dir) -> FSYNC(dir) -> CLOSE(dir), one per completion.
//   Truncate      -> ftruncate(2) inline (liburing 2.3 has no ftruncate op; cold path only),
//                    result delivered through a NOP completion.
// Every callback runs from a completion on the loop's thread. Operations in flight hold no
// pointer to RingStorage after they complete, but RingStorage must outlive them.
//
//   RingStorage storage(loop);
//   storage.CreateSegment(path, 64 << 20, [&](absl::StatusOr<FileHandle> f) { ... });
#pragma once

#include <string>

#include "absl/container/flat_hash_map.h"
#include "engine/uring/uring_loop.h"
#include "spool/storage.h"

namespace tern::engine::uring {

class RingStorage final : public spool::StorageBackend {
 public:
  explicit RingStorage(UringLoop* loop) : loop_(loop) {}
  ~RingStorage() override = default;
  RingStorage(const RingStorage&) = delete;
  RingStorage& operator=(const RingStorage&) = delete;

  void CreateSegment(std::string path, uint64_t bytes, Created done) override;
  void WriteAndSync(spool::FileHandle file, uint64_t offset, std::span<const iovec> iov,
                    spool::SyncMode sync, Done done) override;
  void WriteZeros(spool::FileHandle file, uint64_t offset, uint64_t bytes, spool::SyncMode sync,
                  Done done) override;
  void Truncate(spool::FileHandle file, uint64_t bytes, Done done) override;
  void Close(spool::FileHandle file, Done done) override;
  void OpenForRead(std::string path, Created done) override;
  void Read(spool::FileHandle file, uint64_t offset, size_t bytes, core::ByteBuffer* into,
            Done done) override;
  void DeleteFile(std::string path, Done done) override;

  UringLoop* loop() const { return loop_; }
  // The path a handle was created with, for error messages ("fd N" if unknown).
  std::string PathOf(spool::FileHandle file) const;

 private:
  class CreateOp;
  class WriteOp;
  class SimpleOp;
  class OpenReadOp;
  class ReadOp;
  class DeleteOp;

  UringLoop* loop_;
  absl::flat_hash_map<spool::FileHandle, std::string> paths_;
  absl::flat_hash_map<spool::FileHandle, int> direct_fds_;  // segment -> its O_DIRECT descriptor
};

}  // namespace tern::engine::uring
