// StorageBackend: the file operations the group commit needs, asynchronous, with results
// delivered by callback on the loop's thread (never from inside the submitting call). The
// group commit never calls liburing itself; RingStorage (engine/uring/ring_storage.h) is the real
// backend, and tests drop in fault-injecting ones (fail the Nth write or sync with EIO or
// ENOSPC, tear a write, lose unsynced data on a simulated crash).
//
//   backend->CreateSegment(path, segment_bytes, [](absl::StatusOr<FileHandle> file) {...});
//   backend->WriteAndSync(file, offset, iovecs, SyncMode::kFdatasync,
//                         [](absl::Status s) { /* durable iff s.ok() */ });
//   backend->OpenForRead(path, [](absl::StatusOr<FileHandle> file) {...});
//   backend->Read(file, offset, n, &buffer, [](absl::Status s) { /* buffer holds n bytes */ });
//   backend->DeleteFile(path, [](absl::Status s) { /* unlinked, directory synced */ });
//   backend->WriteZeros(file, offset, 1 << 20, SyncMode::kNone, [](absl::Status s) {...});
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <span>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/byte_buffer.h"

namespace tern::spool {

// An open file of the backend (a file descriptor for RingStorage).
using FileHandle = int;

// The most one WriteZeros call writes (the size of the backend's shared zero buffer).
inline constexpr uint64_t kZeroWriteBytesMax = uint64_t{1} << 20;

enum class SyncMode {
  kFdatasync,  // every commit is made durable before its waiters are told
  kNone,       // benchmarks only: nothing is durable, waiters are told after the write
};

class StorageBackend {
 public:
  using Done = absl::AnyInvocable<void(absl::Status)>;
  using Created = absl::AnyInvocable<void(absl::StatusOr<FileHandle>)>;

  virtual ~StorageBackend() = default;

  // Creates (or reopens, if a previous attempt left it) the file at `path`, preallocates
  // `bytes` with fallocate, and makes the file and its directory entry durable. On failure
  // nothing stays open; ENOSPC comes back as ResourceExhausted.
  virtual void CreateSegment(std::string path, uint64_t bytes, Created done) = 0;

  // Writes `iov` (gathered, in order) at `offset` of `file`, then, under kFdatasync,
  // fdatasyncs the file, as one linked sequence. OK only if every byte was written and the
  // sync succeeded; a short write is an error. The iovec array and the memory it points to
  // must stay valid until `done` runs. `iov` may be longer than IOV_MAX.
  virtual void WriteAndSync(FileHandle file, uint64_t offset, std::span<const iovec> iov,
                            SyncMode sync, Done done) = 0;

  // Writes `bytes` (at most kZeroWriteBytesMax) zero bytes at `offset` of `file` from a
  // buffer the backend shares between calls, then, under kFdatasync, fdatasyncs the file, as
  // one linked sequence. A backend that cannot write them past the page cache syncs them
  // with the write even under kNone, so that zeros never pile up as dirty pages. `bytes` may be 0
  // with kFdatasync: the fdatasync alone. Used to zero-fill a preallocated segment ahead of use
  // (spool/segment_zero_fill.h), so that its extents are written, not "unwritten", before commits
  // land in it.
  virtual void WriteZeros(FileHandle file, uint64_t offset, uint64_t bytes, SyncMode sync,
                          Done done) = 0;

  // Shrinks (or extends with zeros) `file` to `bytes`.
  virtual void Truncate(FileHandle file, uint64_t bytes, Done done) = 0;

  // Closes `file`. The handle is invalid once this is called.
  virtual void Close(FileHandle file, Done done) = 0;

  // Opens the existing file at `path` read-only (a sealed segment, for reading records).
  virtual void OpenForRead(std::string path, Created done) = 0;

  // Reads `bytes` bytes at `offset` of `file` into `into` (cleared first, then sized to
  // `bytes`). Fewer bytes (end of file) is DataLoss. `into` must stay valid until `done`.
  virtual void Read(FileHandle file, uint64_t offset, size_t bytes, core::ByteBuffer* into,
                    Done done) = 0;

  // Removes the file at `path` and makes the removal durable (fsync of its directory), so
  // that deletions done one after the other reach the disk in that order.
  virtual void DeleteFile(std::string path, Done done) = 0;
};

}  // namespace tern::spool
