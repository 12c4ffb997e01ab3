// WorkerStorage: the spool's StorageBackend for the epoll engine. Every operation is the
// same sequence of system calls as RingStorage's (engine/uring/ring_storage.h), run as one
// job on the loop's FileWorker thread (in submission order), its result delivered on the
// loop's thread:
//
//   WriteAndSync  -> pwritev (the rest after a short write) -> fdatasync
//   CreateSegment -> open(O_CREAT) -> fallocate -> fsync(file) -> open(dir) -> fsync(dir)
//   Close, Truncate, OpenForRead, Read (pread to the end), DeleteFile (unlink -> fsync(dir))
//
//   WorkerStorage storage(epoll_loop);
//   storage.CreateSegment(path, 64 << 20, [&](absl::StatusOr<FileHandle> f) { ... });
#pragma once

#include <string>

#include "absl/container/flat_hash_map.h"
#include "engine/epoll/epoll_loop.h"
#include "spool/storage.h"

namespace tern::engine::epoll {

class WorkerStorage final : public spool::StorageBackend {
 public:
  explicit WorkerStorage(EpollLoop* loop) : loop_(loop) {}
  ~WorkerStorage() override = default;
  WorkerStorage(const WorkerStorage&) = delete;
  WorkerStorage& operator=(const WorkerStorage&) = delete;

  void CreateSegment(std::string path, uint64_t bytes, Created done) override;
  void WriteAndSync(spool::FileHandle file, uint64_t offset, std::span<const iovec> iov,
                    spool::SyncMode sync, Done done) override;
  // Buffered (no O_DIRECT here): the zeros are always synced with their write.
  void WriteZeros(spool::FileHandle file, uint64_t offset, uint64_t bytes, spool::SyncMode sync,
                  Done done) override;
  void Truncate(spool::FileHandle file, uint64_t bytes, Done done) override;
  void Close(spool::FileHandle file, Done done) override;
  void OpenForRead(std::string path, Created done) override;
  void Read(spool::FileHandle file, uint64_t offset, size_t bytes, core::ByteBuffer* into,
            Done done) override;
  void DeleteFile(std::string path, Done done) override;

 private:
  std::string PathOf(spool::FileHandle file) const;

  EpollLoop* loop_;
  absl::flat_hash_map<spool::FileHandle, std::string> paths_;
};

}  // namespace tern::engine::epoll
