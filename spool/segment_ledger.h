// SegmentLedger: what each of a shard's segment files holds that still matters, for garbage
// collection (spool/segment_gc.h) and the spool's size gauges. A segment is live while it
// holds the latest MESSAGE record of a live message; state records do not keep it live,
// but they are counted, because deleting one out of order could lose a state (see
// segment_gc.h).
//
// Recovery fills it from the scan; ShardSpool keeps it current as records become durable,
// messages finish, copies move, and segments are created and deleted. Costs one hash-set
// slot per live message.
//
//   SegmentLedger ledger;
//   ledger.AddSegment(7, segment_bytes);
//   ledger.NoteRecord(where, /*is_message=*/true);
//   ledger.AddLive(queue_id, where);
//   ...
//   ledger.RemoveLive(queue_id, where);   // finished, or copied forward
#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_set.h"
#include "spool/record_location.h"

namespace tern::spool {

struct SegmentUsage {
  uint64_t file_bytes = 0;                 // size on disk (preallocated)
  uint64_t data_bytes = 0;                 // end of the last record written
  uint64_t live_bytes = 0;                 // bytes of the live MESSAGE records in it
  uint64_t state_records = 0;              // records of the other types written in it
  absl::flat_hash_set<uint64_t> live_ids;  // messages whose latest copy is here
  size_t live_messages() const { return live_ids.size(); }
};

class SegmentLedger {
 public:
  using Map = absl::btree_map<uint64_t, SegmentUsage>;

  // Registers a segment file (again: updates its file size).
  void AddSegment(uint64_t segment, uint64_t file_bytes);
  // A durable record at `at` (registering the segment if it is new).
  void NoteRecord(const RecordLocation& at, bool is_message);
  // `queue_id`'s latest copy is the MESSAGE record at `at`.
  void AddLive(uint64_t queue_id, const RecordLocation& at);
  // It is no longer (finished, superseded or copied forward). CHECKs it was.
  void RemoveLive(uint64_t queue_id, const RecordLocation& at);
  // The file is gone. CHECKs that it held no live message.
  void RemoveSegment(uint64_t segment);

  const SegmentUsage* Find(uint64_t segment) const;
  const Map& segments() const { return segments_; }
  size_t segment_count() const { return segments_.size(); }
  uint64_t file_bytes() const { return file_bytes_; }
  uint64_t live_bytes() const { return live_bytes_; }

 private:
  Map segments_;
  uint64_t file_bytes_ = 0;
  uint64_t live_bytes_ = 0;
};

}  // namespace tern::spool
