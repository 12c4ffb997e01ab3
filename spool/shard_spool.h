// ShardSpool: everything one shard's thread uses of the spool: start-up recovery, queue ids,
// message records, group commit, and the queue index of live messages.
//
// Start-up (blocking, before the loop runs): Open() creates <spool_dir>/shard-<N>, recovers
// every segment into the index, and starts a NEW segment for appends (a recovered segment is
// never appended to). Then, on the loop's thread:
//
//   ASSIGN_OR_RETURN(auto spool, ShardSpool::Open(loop, options));
//   RETURN_IF_ERROR(spool->CheckAccepting());            // at MAIL: 452 / 451 when not OK
//   uint64_t id = spool->NextQueueId();
//   core::ByteBuffer record;
//   RETURN_IF_ERROR(spool->BeginMessage(id, envelope, &record));  // at DATA
//   record.Append(body);                                           // as the body arrives
//   spool->CommitMessage(id, std::move(record), [](absl::Status s) { /* 250 iff s.ok() */ });
//   ...
//   spool->Shutdown([] { /* all batches done, files closed */ });  // then destroy
//
// Delivery (also on the loop's thread):
//   spool->ReadMessage(id, [](absl::StatusOr<LoadedMessage> m) { Send(m->body()); });
//   RecipientResult results[] = {{.recipient = 0, .state = RecipientState::kDelivered,
//                                 .attempts = 1, .reply_code = 250}};
//   spool->RecordRecipientResults(id, results, [](absl::Status s) { ... });
// Results are one state record per recipient (spool/state_record.h) in one group commit;
// the index changes only once they are durable. When every recipient of a message is
// final the message leaves index(); the finished listener (set_on_finished) sees the entry
// just before, to log it or bounce it.
//
// Garbage collection (spool/segment_gc.h) runs every gc_interval on the loop: it deletes
// dead segments (through the ring: unlinkat, then fsync of the directory) and copies the
// live messages of a mostly dead oldest segment forward through the group commit (the new
// MESSAGE record carries the folded recipient states and schedule), deleting the old
// segment only once the copies are durable. Open() deletes (blocking) what is dead at
// start-up, including the empty preallocated segment every earlier run left.
//
// CommitMessage's waiter runs on the loop's thread, never inside the call; once it got OK
// the message is in index(). Queue ids: top 8 bits the shard id, low 56 bits
// max(last issued + 1, microseconds since 2020-01-01 UTC), never below the highest id
// recovered + 1: unique across shards and restarts, increasing within a shard.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/byte_buffer.h"
#include "core/loop.h"
#include "spool/group_commit.h"
#include "spool/loaded_message.h"
#include "spool/message_record.h"
#include "spool/queue_index.h"
#include "spool/record_format.h"
#include "spool/recovery.h"
#include "spool/segment_ledger.h"
#include "spool/segment_reader.h"
#include "spool/spool_counters.h"
#include "spool/spool_options.h"
#include "spool/state_record.h"
#include "spool/storage.h"

namespace tern::spool {

inline constexpr int kQueueIdShardShift = 56;
inline constexpr uint64_t kQueueIdSequenceMask = (uint64_t{1} << kQueueIdShardShift) - 1;
static_assert(kShardIdMax < (1 << (64 - kQueueIdShardShift)), "shard id fits the top bits");

class ShardSpool {
 public:
  using OnDurable = absl::AnyInvocable<void(absl::Status)>;
  using OnLoaded = absl::AnyInvocable<void(absl::StatusOr<LoadedMessage>)>;
  // A message whose every recipient is final, just before it leaves the index.
  using OnFinished = absl::AnyInvocable<void(uint64_t queue_id, const QueueEntry& entry)>;

  static absl::StatusOr<std::unique_ptr<ShardSpool>> Open(core::Loop* loop,
                                                          const SpoolOptions& options);
  // CHECKs that Shutdown() completed (or was never needed: nothing was ever started).
  ~ShardSpool();
  ShardSpool(const ShardSpool&) = delete;
  ShardSpool& operator=(const ShardSpool&) = delete;

  // OK, or ResourceExhausted (disk full, backlog: 452 4.3.1) / Unavailable (451 4.3.0).
  absl::Status CheckAccepting() const;

  uint64_t NextQueueId();

  // Writes the record header and envelope into `record` (empty). InvalidArgument when the
  // envelope cannot be stored (field too long, no or too many recipients).
  absl::Status BeginMessage(uint64_t queue_id, const MessageEnvelope& envelope,
                            core::ByteBuffer* record);
  // Finalizes the record (length, crc) and hands it to the group commit; once durable the
  // message enters index() and `on_durable` gets OK. A record over record_bytes_max fails
  // with ResourceExhausted (552 5.3.4 is the session's business, at SIZE/DATA time).
  void CommitMessage(uint64_t queue_id, core::ByteBuffer record, OnDurable on_durable);

  // Appends a record of any other type with `payload`, as is: the index is not updated
  // (recovery will fold it). Prefer RecordRecipientResults() and SetHeld().
  void AppendRecord(RecordType type, uint64_t queue_id, absl::string_view payload,
                    OnDurable on_durable);

  // Records delivery results of message `queue_id` (in index()): one state record per
  // result, appended together; once durable the index entry is updated (states, attempts,
  // next attempt) and, when every recipient is final, the message is removed (on_finished
  // first). A failed record leaves its result out of the index (the delivery is retried).
  // NotFound (unknown id) or InvalidArgument (no results, recipient index out of range,
  // kPending) reach `on_durable` from the loop, with nothing appended.
  void RecordRecipientResults(uint64_t queue_id, std::span<const RecipientResult> results,
                              OnDurable on_durable);
  // Appends HOLD (held; until `until_unix_us` if > 0) or RELEASE; the index's held flag
  // (and the hold's end) follows once durable.
  void SetHeld(uint64_t queue_id, bool held, OnDurable on_durable, int64_t until_unix_us = 0);

  // Reads message `queue_id`'s MESSAGE record back from its segment (through the ring) and
  // verifies it. NotFound when not in index(); DataLoss naming segment and offset when the
  // bytes on disk are not that record; I/O errors as the backend reports them. `done` runs
  // from the loop, never inside this call.
  void ReadMessage(uint64_t queue_id, OnLoaded done);

  void set_on_finished(OnFinished on_finished) { on_finished_ = std::move(on_finished); }
  // Told of every new message once it is durable and in index(), just before its
  // CommitMessage waiter (the delivery agent schedules it from here).
  void set_on_queued(absl::AnyInvocable<void(uint64_t queue_id)> on_queued) {
    on_queued_ = std::move(on_queued);
  }

  const QueueIndex& index() const { return index_; }
  const SegmentLedger& ledger() const { return ledger_; }
  // Runs one garbage collection pass now if none is running (tests; normally the timer).
  void RunGcNow() { RunGc(); }
  bool gc_running() const { return gc_ops_in_flight_ > 0; }
  // Changing entries' states or removing entries here bypasses the segment ledger (a
  // removed message's segment is then never collected): prefer the recording calls.
  QueueIndex* mutable_index() { return &index_; }
  const SpoolCounters& counters() const { return counters_; }
  const RecoveryStats& recovery_stats() const { return recovery_stats_; }
  const std::string& shard_dir() const { return shard_dir_; }
  uint64_t current_segment() const { return commit_->current_segment(); }

  // Lets the in-flight and pending batches complete, closes files, then calls `done` from
  // the loop. Nothing may be appended afterwards (waiters would fail with Unavailable).
  void Shutdown(absl::AnyInvocable<void()> done);

 private:
  class GcTimer final : public core::Timer {
   public:
    explicit GcTimer(ShardSpool* owner) : owner_(owner) {}
    void OnTimer() override { owner_->RunGc(); }

   private:
    ShardSpool* owner_;
  };
  enum class ShutdownStage { kRunning, kWaitingForGc, kClosingReader, kClosingCommit, kDone };

  ShardSpool(core::Loop* loop, const SpoolOptions& options, std::string shard_dir);
  absl::Status DeleteDeadSegmentsAtStartUp();
  void ApplyResult(uint64_t queue_id, const RecipientResult& result);
  void FinishIfDone(uint64_t queue_id);
  void StateRecordDone(uint64_t queue_id);
  void UpdateGauges();
  // Garbage collection (shard_spool_gc.cc).
  void ScheduleGc();
  void RunGc();
  void DeleteNextSegment();
  void CopyForward(uint64_t queue_id, uint64_t from_segment);
  void OnCopyRead(uint64_t queue_id, uint64_t from_segment, absl::StatusOr<LoadedMessage> m);
  void GcOpDone();
  void ContinueShutdown();

  core::Loop* loop_;
  SpoolOptions options_;
  std::string shard_dir_;
  QueueIndex index_;
  RecoveryStats recovery_stats_;
  SpoolCounters counters_;
  StorageBackend* storage_ = nullptr;
  std::unique_ptr<GroupCommit> commit_;
  std::unique_ptr<SegmentReader> reader_;
  SegmentLedger ledger_;
  OnFinished on_finished_;
  absl::AnyInvocable<void(uint64_t)> on_queued_;
  uint64_t last_sequence_ = 0;  // low 56 bits of the last queue id issued or recovered
  // State records appended but not yet durable, per message: GC does not copy these.
  absl::flat_hash_map<uint64_t, uint32_t> state_in_flight_;
  GcTimer gc_timer_{this};
  size_t gc_ops_in_flight_ = 0;  // the deletion chain and each copy of the running pass
  std::deque<uint64_t> gc_deletes_;
  ShutdownStage shutdown_stage_ = ShutdownStage::kRunning;
  absl::AnyInvocable<void()> shutdown_cb_;
  bool shutdown_done_ = false;
};

}  // namespace tern::spool
