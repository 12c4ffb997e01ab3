// Segment garbage collection policy: which sealed segments to delete and which live
// messages to copy forward, decided from the SegmentLedger. A pure function: ShardSpool
// runs the plan (spool/shard_spool_gc.cc) from a timer on the loop, one plan at a time.
//
// Rules (sealed = below the oldest segment the group commit may still write to, so
// neither the current nor the prepared one):
//   - Delete a sealed segment with no live message if it is the oldest segment on disk,
//     or if it holds no state record. Why not every dead segment at once: a state record
//     (DELIVERED...) matters as long as an older MESSAGE copy of its message exists; a
//     segment deleted out of order could take a DELIVERED with it while an older segment
//     keeps the message, which recovery would then deliver again. Deleting oldest first,
//     each deletion durable before the next (StorageBackend::DeleteFile), keeps every
//     state record as long as any older copy. A segment with no state record holds only
//     dead MESSAGE copies and can go at any time (this also removes the empty prepared
//     segments earlier runs left behind).
//   - Compact the oldest segment when it is still live but copying its live messages
//     forward is worth it: its file plus the run of dead sealed segments right behind it
//     (which it holds back) is more than kCompactionGainMin times its live bytes. With a
//     lone segment that is "live bytes below 25% of its size"; a small live head that holds
//     back many dead segments is compacted too, which keeps the spool bounded when a few
//     messages are deferred for days. Only the oldest is compacted: a later segment could
//     not be deleted before it anyway.
//   - Bounded work per plan: at most kGcDeletesPerRun deletions and kGcCopiesPerRun copies
//     (kGcCopyBytesPerRun bytes); the rest waits for the next run.
//
//   GcPlan plan = PlanGc(ledger, commit.oldest_writable_segment());
//   for (uint64_t segment : plan.deletes) ...;  for (uint64_t id : plan.copies) ...;
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "spool/segment_ledger.h"

namespace tern::spool {

inline constexpr size_t kGcDeletesPerRun = 8;
inline constexpr size_t kGcCopiesPerRun = 256;
inline constexpr uint64_t kGcCopyBytesPerRun = uint64_t{16} << 20;
inline constexpr uint64_t kCompactionGainMin = 3;  // bytes freed per byte copied, at least

struct GcLimits {
  size_t deletes_max = kGcDeletesPerRun;
  size_t copies_max = kGcCopiesPerRun;
  uint64_t copy_bytes_max = kGcCopyBytesPerRun;
};

struct GcPlan {
  std::vector<uint64_t> deletes;  // in this order, each durable before the next
  uint64_t compact_segment = 0;   // 0: none
  std::vector<uint64_t> copies;   // queue ids whose latest copy is in compact_segment
  bool empty() const { return deletes.empty() && copies.empty(); }
};

// Segments numbered `sealed_below` or higher are never touched.
GcPlan PlanGc(const SegmentLedger& ledger, uint64_t sealed_below, const GcLimits& limits = {});

}  // namespace tern::spool
