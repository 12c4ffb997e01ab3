// SegmentZeroFill: writes zeros over a freshly preallocated segment, then fdatasyncs it once,
// ahead of the segment's use, so that the group commit's fdatasyncs there are pure data
// writes. (ext4 and xfs mark fallocate'd extents "unwritten"; the first write to one makes
// the next fdatasync convert it, a journal commit on the commit's path.)
//
// Pacing: one WriteZeros of kZeroWriteBytesMax in flight at a time, so that a commit of the
// current segment never queues behind more than 1 MiB of zeros; the backend writes them past
// the page cache (RingStorage: O_DIRECT) or syncs each piece, so the final fdatasync has no
// pages to flush, only the extent conversions to commit. (A buffered fill synced once at the
// end put 64 MiB of dirty pages ahead of the commits, ~30 ms per segment; a fill syncing
// each piece paid a journal commit per MiB; figures in bench/README.md.) Everything goes
// through the StorageBackend; nothing blocks the loop.
//
// Zeros are what a preallocated segment reads as anyway, so a fill that fails or is cut
// short leaves a segment exactly as usable as a fallocate'd one (recovery reads zeros as the
// end of the records, spool/record_codec.h).
//
// The group commit also uses one to erase the range of a commit that failed (zeros over the
// records whose write or fdatasync reported an error, then an fdatasync), so that they cannot
// come back in recovery behind records acknowledged later (spool/group_commit.h).
//
//   SegmentZeroFill fill(storage, &counters);
//   fill.Start(file, segment_bytes, [](absl::Status s) { /* OK: zeroed and synced */ });
//   ...
//   fill.Stop();                         // the segment is needed now: no further piece
//   if (!fill.busy()) UseSegment(file);  // else wait for `done` (the operation in flight)
//
// `done` runs once per Start, from a backend completion: OK (zeroed and synced, even if
// Stop() came during the fdatasync), the backend's error, or Cancelled after Stop(). Its
// owner must not be destroyed while busy().
#pragma once

#include <cstdint>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "spool/spool_counters.h"
#include "spool/storage.h"

namespace tern::spool {

// How a segment is made ready before the group commit appends to it (--segment_prefill).
enum class SegmentPrefill {
  kZero,       // fallocate, then zero-filled and synced ahead of use (SegmentZeroFill)
  kFallocate,  // fallocate only
};

class SegmentZeroFill {
 public:
  using Done = absl::AnyInvocable<void(absl::Status)>;

  // `storage` and `counters` must outlive this object. `counters` may be null: the zeros
  // written are not counted as prefill_bytes then.
  SegmentZeroFill(StorageBackend* storage, SpoolCounters* counters)
      : storage_(storage), counters_(counters) {}
  SegmentZeroFill(const SegmentZeroFill&) = delete;
  SegmentZeroFill& operator=(const SegmentZeroFill&) = delete;

  // Zero-fills [0, bytes) of `file`, then fdatasyncs it. Not while busy().
  void Start(FileHandle file, uint64_t bytes, Done done) { Start(file, 0, bytes, std::move(done)); }
  // Zero-fills [from, to) of `file`, then fdatasyncs it. Not while busy().
  void Start(FileHandle file, uint64_t from, uint64_t to, Done done);
  // Issues nothing more; `done` runs once the operation in flight completes.
  void Stop() { stopping_ = true; }

  bool stopping() const { return stopping_; }
  // A zero piece or the fdatasync is in flight: nobody else may write the file until `done`
  // runs (the zeros could land over their bytes; a failing fdatasync would report their
  // pages' error here rather than to them, one error report per open file).
  bool busy() const { return in_flight_; }

 private:
  void Next();
  void Finish(absl::Status status);

  StorageBackend* storage_;
  SpoolCounters* counters_;
  FileHandle file_ = -1;
  uint64_t end_ = 0;     // zeros end here
  uint64_t offset_ = 0;  // zeros written from the start up to this
  bool in_flight_ = false;
  bool stopping_ = false;
  Done done_;
};

}  // namespace tern::spool
