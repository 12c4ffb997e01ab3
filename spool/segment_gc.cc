// PlanGc: the garbage collection rules of spool/segment_gc.h.
#include "spool/segment_gc.h"

namespace tern::spool {

GcPlan PlanGc(const SegmentLedger& ledger, uint64_t sealed_below, const GcLimits& limits) {
  GcPlan plan;
  const SegmentLedger::Map& segments = ledger.segments();
  bool oldest = true;  // every segment before this one is (planned to be) deleted
  for (auto it = segments.begin(); it != segments.end() && it->first < sealed_below; ++it) {
    const uint64_t number = it->first;
    const SegmentUsage& u = it->second;
    if (u.live_messages() == 0 && (oldest || u.state_records == 0)) {
      if (plan.deletes.size() >= limits.deletes_max) break;
      plan.deletes.push_back(number);
      continue;
    }
    if (!oldest || u.live_messages() == 0) continue;
    oldest = false;
    // The oldest segment is live: is copying it forward worth it?
    uint64_t freed = u.file_bytes;
    for (auto next = std::next(it);
         next != segments.end() && next->first < sealed_below && next->second.live_messages() == 0;
         ++next) {
      freed += next->second.file_bytes;
    }
    if (u.live_bytes * kCompactionGainMin >= freed) continue;
    plan.compact_segment = number;
    uint64_t bytes = 0;
    for (uint64_t id : u.live_ids) {
      if (plan.copies.size() >= limits.copies_max || bytes >= limits.copy_bytes_max) break;
      plan.copies.push_back(id);
      bytes += u.live_bytes / u.live_messages();  // an estimate is enough for a bound
    }
  }
  return plan;
}

}  // namespace tern::spool
