// ShardSpool's garbage collection pass: runs a GcPlan (spool/segment_gc.h) on the loop.
// One pass at a time; a pass is a chain of deletions (each durable before the next) plus
// the copies of one compaction, all bounded by the plan. The next pass is armed when this
// one has finished.
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/check.h"
#include "core/log.h"
#include "spool/segment_files.h"
#include "spool/segment_gc.h"
#include "spool/shard_spool.h"

namespace tern::spool {

void ShardSpool::ScheduleGc() {
  if (options_.gc_interval <= absl::ZeroDuration()) return;
  if (shutdown_stage_ != ShutdownStage::kRunning) return;
  loop_->timers().Arm(&gc_timer_, absl::Now() + options_.gc_interval);
}

void ShardSpool::RunGc() {
  if (shutdown_stage_ != ShutdownStage::kRunning || gc_ops_in_flight_ > 0) return;
  loop_->timers().Cancel(&gc_timer_);
  const GcPlan plan = PlanGc(ledger_, commit_->oldest_writable_segment());
  if (plan.empty()) {
    ScheduleGc();
    return;
  }
  gc_deletes_.assign(plan.deletes.begin(), plan.deletes.end());
  ++gc_ops_in_flight_;  // the deletion chain
  for (uint64_t id : plan.copies) CopyForward(id, plan.compact_segment);
  DeleteNextSegment();
}

void ShardSpool::GcOpDone() {
  CHECK_GT(gc_ops_in_flight_, 0u);
  if (--gc_ops_in_flight_ > 0) return;
  if (shutdown_stage_ != ShutdownStage::kRunning) return ContinueShutdown();
  ScheduleGc();
}

void ShardSpool::DeleteNextSegment() {
  if (gc_deletes_.empty() || shutdown_stage_ != ShutdownStage::kRunning) {
    gc_deletes_.clear();
    return GcOpDone();
  }
  const uint64_t segment = gc_deletes_.front();
  gc_deletes_.pop_front();
  const SegmentUsage* usage = ledger_.Find(segment);
  // Nothing turns a sealed dead segment live again; stop the chain (order matters) if the
  // plan is stale anyway.
  if (usage == nullptr || usage->live_messages() > 0) {
    gc_deletes_.clear();
    return GcOpDone();
  }
  const uint64_t file_bytes = usage->file_bytes;
  reader_->Forget(segment);
  storage_->DeleteFile(SegmentPath(shard_dir_, segment), [this, segment,
                                                          file_bytes](absl::Status status) {
    if (!status.ok()) {
      SpoolCounters::Add(counters_.gc_errors, 1);
      TERN_LOG(kError, "spool gc: deleting %s: %s", SegmentFileName(segment), status.ToString());
      gc_deletes_.clear();  // later ones must wait for this one
      return GcOpDone();
    }
    ledger_.RemoveSegment(segment);
    SpoolCounters::Add(counters_.segments_deleted, 1);
    SpoolCounters::Add(counters_.bytes_reclaimed, file_bytes);
    UpdateGauges();
    DeleteNextSegment();
  });
}

void ShardSpool::CopyForward(uint64_t queue_id, uint64_t from_segment) {
  const QueueEntry* entry = index_.Find(queue_id);
  if (entry == nullptr || entry->location().segment != from_segment) return;
  ++gc_ops_in_flight_;
  ReadMessage(queue_id, [this, queue_id, from_segment](absl::StatusOr<LoadedMessage> m) {
    OnCopyRead(queue_id, from_segment, std::move(m));
  });
}

// The copy is built from the bytes read and the index entry as it is now, and appended at
// once: a state record appended later lands after it in the log and is folded onto it. A
// message with state records still in flight is left for a later pass: those records are
// older than the copy would be, so recovery would drop them in favour of a copy that does
// not have them. A hold with an end is left too: the copy's schedule has no room for the
// end, so it waits where it is until the hold ends (its segment lives that long).
void ShardSpool::OnCopyRead(uint64_t queue_id, uint64_t from_segment,
                            absl::StatusOr<LoadedMessage> m) {
  const QueueEntry* entry = index_.Find(queue_id);
  if (!m.ok()) {
    if (entry != nullptr) {  // else finished while reading: nothing to copy
      SpoolCounters::Add(counters_.gc_errors, 1);
      TERN_LOG(kError, "spool gc: reading message %d to copy it forward: %s", queue_id,
               m.status().ToString());
    }
    return GcOpDone();
  }
  if (shutdown_stage_ != ShutdownStage::kRunning || entry == nullptr ||
      entry->location() != m->location() || state_in_flight_.contains(queue_id) ||
      entry->held_until_unix_us() != 0) {
    return GcOpDone();
  }
  std::vector<RecipientState> states(entry->recipient_count());
  for (uint32_t i = 0; i < entry->recipient_count(); ++i) states[i] = entry->recipient_state(i);
  core::ByteBuffer copy;
  const absl::Status built =
      BuildMessageCopy(queue_id, m->view(), states, entry->schedule(), &copy);
  if (!built.ok() || copy.size() > options_.record_bytes_max) {
    // Only a first-format record right at the size limit can grow past it.
    SpoolCounters::Add(counters_.gc_errors, 1);
    TERN_LOG(kError, "spool gc: cannot copy message %d forward (%d bytes): %s", queue_id,
             copy.size(), built.ToString());
    return GcOpDone();
  }
  const RecordLocation old_location = m->location();
  const uint64_t bytes = copy.size();
  commit_->AppendLocated(std::move(copy), [this, queue_id, old_location, bytes](
                                              absl::Status status, RecordLocation where) {
    if (!status.ok()) {
      SpoolCounters::Add(counters_.gc_errors, 1);
      return GcOpDone();
    }
    ledger_.NoteRecord(where, /*is_message=*/true);
    QueueEntry* e = index_.FindMutable(queue_id);
    if (e != nullptr && e->location() == old_location) {
      ledger_.RemoveLive(queue_id, old_location);
      ledger_.AddLive(queue_id, where);
      e->set_location(where);
      SpoolCounters::Add(counters_.messages_copied_forward, 1);
      SpoolCounters::Add(counters_.bytes_copied_forward, bytes);
    }
    GcOpDone();
  });
}

}  // namespace tern::spool
