// FaultInjectingStorage: a StorageBackend for tests that forwards to the storage of the loop's
// I/O engine (engine::CreateStorage) and injects what disks do to a spool: a write or an fdatasync
// failing with EIO or ENOSPC (the Nth call, several calls in a row, or at random with a seed), a
// torn write (only a prefix reaches the file, then the error), a full disk (segment creation beyond
// a capacity fails with ENOSPC until deletions free room), and power cuts: TakeCrashImage() copies
// the spool as a power cut at this instant would leave it, throwing away (or tearing) every write
// that no completed fdatasync covers. A successful fdatasync of a file covers the writes to it
// that had completed when it was submitted, failed ones included (their bytes, or the torn
// prefix, are in the file by then).
//
// It lives in its own library (tern_spool_testing) that ternd never links: it cannot be
// selected in production by accident.
//
//   FaultInjectingStorage storage(loop, /*seed=*/42);
//   storage.Inject({.op = FaultOp::kSync, .nth = 3, .error = EIO});  // 3rd sync fails
//   storage.on_point = [&](CrashPoint point, const std::string& path) {
//     if (point == CrashPoint::kWriteSubmitted) storage.TakeCrashImage(dir, image, kDrop);
//   };
//   options.storage = &storage;  // SpoolOptions
//
// Crash points (on_point is called on the loop's thread, before the operation is handed to
// the engine or right after its completion):
//   kWriteSubmitted   a write (+ fdatasync) is about to start: after append, before sync
//   kWriteDurable     its fdatasync completed, its waiters not told yet: before the reply
//   kWriteReplied     its waiters ran (the 250s are out): after the reply
//   kCreateSubmitted  a segment is about to be created (rotation)
//   kCloseSubmitted   a segment is about to be closed (rotation, abandonment)
//   kDeleteSubmitted  a file is about to be deleted (garbage collection)
#pragma once

#include <sys/uio.h>

#include <cerrno>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "core/loop.h"
#include "spool/storage.h"

namespace tern::spool::testing {

// kPrefill: a WriteZeros call (a zero piece or the zero fill's fdatasync), counted apart from
// the commits' writes and syncs.
enum class FaultOp { kWrite, kSync, kCreate, kRead, kDelete, kPrefill };
inline constexpr size_t kFaultOps = 6;

struct Fault {
  FaultOp op = FaultOp::kWrite;
  uint64_t nth = 0;    // the Nth call of `op` (1-based) fails; 0: use `rate`
  uint64_t times = 1;  // with nth: that many calls in a row fail, from the Nth on
  double rate = 0;     // with nth == 0: each call fails with this probability
  int error = EIO;     // errno reported (ENOSPC comes back as ResourceExhausted)
  bool tear = false;   // kWrite: a random prefix of the data reaches the file first
};

enum class CrashPoint {
  kWriteSubmitted,
  kWriteDurable,
  kWriteReplied,
  kCreateSubmitted,
  kCloseSubmitted,
  kDeleteSubmitted,
};
const char* CrashPointName(CrashPoint point);

// What a power cut does to writes no completed fdatasync covers.
enum class PowerCutLoss {
  kDrop,   // none of their bytes survive
  kTear,   // a random prefix of each survives
  kPages,  // a random subset of their 4 KiB pages survives (the disk reorders)
};
const char* PowerCutLossName(PowerCutLoss loss);

class FaultInjectingStorage final : public StorageBackend {
 public:
  FaultInjectingStorage(core::Loop* loop, uint64_t seed);
  ~FaultInjectingStorage() override = default;
  FaultInjectingStorage(const FaultInjectingStorage&) = delete;
  FaultInjectingStorage& operator=(const FaultInjectingStorage&) = delete;

  void Inject(Fault fault) { faults_.push_back(fault); }
  void ClearFaults() { faults_.clear(); }
  // Segment creation fails with ENOSPC when the files created through this backend (minus
  // the ones deleted) would exceed this many bytes. 0: no limit.
  void set_capacity_bytes(uint64_t bytes) { capacity_bytes_ = bytes; }
  uint64_t used_bytes() const { return used_bytes_; }
  // Parks every WriteZeros call after the next `passed` ones (not handed to the ring) until
  // ReleasePrefill(), to make a zero fill as slow as a test needs.
  void HoldPrefillAfter(uint64_t passed) {
    prefill_held_ = true;
    prefill_passes_ = passed;
  }
  size_t parked_prefills() const { return parked_.size(); }
  // Stops holding and hands the parked calls to the ring, in order.
  void ReleasePrefill();
  // Flips a bit in the last byte of every successful read (corruption on the medium).
  void set_corrupt_reads(bool corrupt) { corrupt_reads_ = corrupt; }

  uint64_t calls(FaultOp op) const { return calls_[static_cast<size_t>(op)]; }
  uint64_t injected() const { return injected_; }
  // Writes whose bytes no completed fdatasync covers (in flight, failed, or written without
  // a sync, until a later successful fdatasync of the same file).
  size_t unsynced_writes() const { return unsynced_.size(); }

  // Copies `from_dir` (recursively) to `to_dir` (must not exist) as a power cut now would
  // leave it: each unsynced write under `from_dir` loses its bytes as `loss` says (the old
  // bytes come back). Files being created or deleted right now appear as they are.
  absl::Status TakeCrashImage(const std::string& from_dir, const std::string& to_dir,
                              PowerCutLoss loss);

  std::function<void(CrashPoint, const std::string& path)> on_point;

  void CreateSegment(std::string path, uint64_t bytes, Created done) override;
  void WriteAndSync(FileHandle file, uint64_t offset, std::span<const iovec> iov, SyncMode sync,
                    Done done) override;
  // Zeros over zeros (a fresh preallocated segment) change nothing a power cut could undo;
  // zeros over other bytes (a failed commit being erased) are kept as unsynced writes until
  // an fdatasync of the file covers them.
  void WriteZeros(FileHandle file, uint64_t offset, uint64_t bytes, SyncMode sync,
                  Done done) override;
  void Truncate(FileHandle file, uint64_t bytes, Done done) override;
  void Close(FileHandle file, Done done) override;
  void OpenForRead(std::string path, Created done) override;
  void Read(FileHandle file, uint64_t offset, size_t bytes, core::ByteBuffer* into,
            Done done) override;
  void DeleteFile(std::string path, Done done) override;

 private:
  struct UnsyncedWrite {
    std::string path;
    uint64_t offset = 0;
    std::string old_bytes;   // what the range held before the write
    std::string new_bytes;   // what the write puts there
    bool completed = false;  // its completion ran (failed, or not synced)
  };
  struct ParkedZeros {
    FileHandle file = -1;
    uint64_t offset = 0;
    uint64_t bytes = 0;
    SyncMode sync = SyncMode::kNone;
    Done done;
  };
  struct MatchedFault {
    bool fail = false;
    int error = 0;
    bool tear = false;
  };

  MatchedFault Match(FaultOp op);  // counts the call, says whether it fails
  void MarkCompleted(uint64_t id);
  // The unsynced writes to `path` that have completed: an fdatasync of the file submitted
  // now makes them durable when it succeeds.
  std::vector<uint64_t> CompletedWritesTo(const std::string& path) const;
  void Point(CrashPoint point, const std::string& path) {
    if (on_point) on_point(point, path);
  }

  core::Loop* loop_;
  std::string PathOf(FileHandle file) const;  // for error messages

  std::unique_ptr<StorageBackend> real_;                // the loop's engine's storage
  absl::flat_hash_map<FileHandle, std::string> paths_;  // open files
  std::mt19937_64 random_;
  std::vector<Fault> faults_;
  uint64_t calls_[kFaultOps] = {};
  uint64_t injected_ = 0;
  uint64_t capacity_bytes_ = 0;
  uint64_t used_bytes_ = 0;
  bool corrupt_reads_ = false;
  bool prefill_held_ = false;
  uint64_t prefill_passes_ = 0;  // calls still let through while held
  std::vector<ParkedZeros> parked_;
  uint64_t next_write_id_ = 1;
  absl::flat_hash_map<uint64_t, UnsyncedWrite> unsynced_;
  absl::flat_hash_map<std::string, uint64_t> created_bytes_;  // for the capacity
};

}  // namespace tern::spool::testing
