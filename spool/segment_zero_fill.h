// SegmentZeroFill: writes zeros over a freshly preallocated segment, each piece made durable
// before the next, ahead of the segment's use, so that the group commit's fdatasyncs there
// are pure data writes. (ext4 and xfs mark fallocate'd extents "unwritten"; the first write
// to one makes the next fdatasync convert it, a journal commit on the commit's path.)
//
// Pacing: one piece of kZeroWriteBytesMax, written and fdatasync'ed as one linked
// WriteZeros, in flight at a time, so that a commit of the current segment never queues
// behind more than 1 MiB of zeros on the disk. (Writing the whole segment first and syncing
// it once put 64 MiB of dirty pages ahead of the commits for ~30 ms per segment: p99 of end
// of data to 250 went up 5x; figures in bench/README.md.) Everything goes through the
// StorageBackend; nothing blocks the loop.
//
// Zeros are what a preallocated segment reads as anyway, so a fill that fails or is cut
// short leaves a segment exactly as usable as a fallocate'd one (recovery reads zeros as the
// end of the records, spool/record_codec.h).
//
//   SegmentZeroFill fill(storage, &counters);
//   fill.Start(file, segment_bytes, [](absl::Status s) { /* OK: zeroed and synced */ });
//   ...
//   fill.Stop();                         // the segment is needed now: no further piece
//   if (!fill.busy()) UseSegment(file);  // else wait for `done` (the piece in flight)
//
// `done` runs once per Start, from a backend completion: OK (zeroed and synced, even if
// Stop() came during the last piece), the backend's error, or Cancelled after Stop(). Its
// owner must not be destroyed while busy().
#pragma once

#include <cstdint>

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

  // `storage` and `counters` must outlive this object.
  SegmentZeroFill(StorageBackend* storage, SpoolCounters* counters)
      : storage_(storage), counters_(counters) {}
  SegmentZeroFill(const SegmentZeroFill&) = delete;
  SegmentZeroFill& operator=(const SegmentZeroFill&) = delete;

  // Zero-fills [0, bytes) of `file`, each piece fdatasync'ed. Not while busy().
  void Start(FileHandle file, uint64_t bytes, Done done);
  // Issues nothing more; `done` runs once the piece in flight completes.
  void Stop() { stopping_ = true; }

  bool stopping() const { return stopping_; }
  // A piece is in flight: nobody else may write the file until `done` runs (the zeros could
  // land over their bytes; a failing fdatasync would report their pages' error here rather
  // than to them, one error report per open file).
  bool busy() const { return in_flight_; }

 private:
  void Next();
  void Finish(absl::Status status);

  StorageBackend* storage_;
  SpoolCounters* counters_;
  FileHandle file_ = -1;
  uint64_t bytes_ = 0;
  uint64_t offset_ = 0;  // zeros durable below this
  bool in_flight_ = false;
  bool stopping_ = false;
  Done done_;
};

}  // namespace tern::spool
