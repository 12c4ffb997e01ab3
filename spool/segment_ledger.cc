// SegmentLedger bookkeeping (what it tracks: spool/segment_ledger.h).
#include "spool/segment_ledger.h"

#include <algorithm>

#include "core/check.h"

namespace tern::spool {

void SegmentLedger::AddSegment(uint64_t segment, uint64_t file_bytes) {
  SegmentUsage& u = segments_[segment];
  CHECK_GE(file_bytes_, u.file_bytes);
  file_bytes_ = file_bytes_ - u.file_bytes + file_bytes;
  u.file_bytes = file_bytes;
}

void SegmentLedger::NoteRecord(const RecordLocation& at, bool is_message) {
  SegmentUsage& u = segments_[at.segment];
  u.data_bytes = std::max(u.data_bytes, at.offset + at.record_bytes);
  if (!is_message) ++u.state_records;
}

void SegmentLedger::AddLive(uint64_t queue_id, const RecordLocation& at) {
  SegmentUsage& u = segments_[at.segment];
  CHECK(u.live_ids.insert(queue_id).second);
  u.live_bytes += at.record_bytes;
  live_bytes_ += at.record_bytes;
}

void SegmentLedger::RemoveLive(uint64_t queue_id, const RecordLocation& at) {
  auto it = segments_.find(at.segment);
  CHECK(it != segments_.end());
  SegmentUsage& u = it->second;
  CHECK_EQ(u.live_ids.erase(queue_id), 1u);
  CHECK_GE(u.live_bytes, at.record_bytes);
  u.live_bytes -= at.record_bytes;
  CHECK_GE(live_bytes_, at.record_bytes);
  live_bytes_ -= at.record_bytes;
}

void SegmentLedger::RemoveSegment(uint64_t segment) {
  auto it = segments_.find(segment);
  if (it == segments_.end()) return;
  CHECK(it->second.live_ids.empty());
  CHECK_GE(file_bytes_, it->second.file_bytes);
  file_bytes_ -= it->second.file_bytes;
  segments_.erase(it);
}

const SegmentUsage* SegmentLedger::Find(uint64_t segment) const {
  auto it = segments_.find(segment);
  return it == segments_.end() ? nullptr : &it->second;
}

}  // namespace tern::spool
