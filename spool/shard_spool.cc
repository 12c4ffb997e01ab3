// ShardSpool: start-up, queue ids, and the MESSAGE path into the group commit and index.
#include "spool/shard_spool.h"

#include <unistd.h>

#include <algorithm>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/check.h"
#include "core/log.h"
#include "core/status_macros.h"
#include "spool/errno_status.h"
#include "spool/little_endian.h"
#include "spool/record_codec.h"
#include "spool/segment_files.h"
#include "spool/segment_gc.h"

namespace tern::spool {
namespace {

// 2020-01-01T00:00:00Z: queue ids count microseconds from here.
constexpr int64_t kQueueIdEpochUnixSeconds = 1577836800;

uint64_t MicrosSinceQueueIdEpoch() {
  const int64_t us = absl::ToUnixMicros(absl::Now()) - kQueueIdEpochUnixSeconds * 1'000'000;
  return us > 0 ? static_cast<uint64_t>(us) : 0;
}

}  // namespace

ShardSpool::ShardSpool(core::Loop* loop, const SpoolOptions& options, std::string shard_dir)
    : loop_(loop), options_(options), shard_dir_(std::move(shard_dir)) {}

absl::StatusOr<std::unique_ptr<ShardSpool>> ShardSpool::Open(core::Loop* loop,
                                                             const SpoolOptions& options) {
  RETURN_IF_ERROR(options.Validate());
  RETURN_IF_ERROR(MakeDirectoryDurable(options.spool_dir));
  std::string shard_dir = ShardDirectory(options.spool_dir, options.shard_id);
  RETURN_IF_ERROR(MakeDirectoryDurable(shard_dir));
  std::unique_ptr<ShardSpool> spool(new ShardSpool(loop, options, std::move(shard_dir)));
  ASSIGN_OR_RETURN(
      spool->recovery_stats_,
      RecoverShard(spool->shard_dir_, &spool->index_, &spool->ledger_, options.crash_during_open));
  const RecoveryStats& stats = spool->recovery_stats_;
  if (stats.last_segment >= kSegmentNumberMax) {
    return absl::ResourceExhaustedError(
        absl::StrCat("spool ", spool->shard_dir_, ": segment numbers exhausted"));
  }
  spool->last_sequence_ = stats.max_queue_id & kQueueIdSequenceMask;
  TERN_LOG(kInfo, "spool %s recovered: %s, %d live messages", spool->shard_dir_, stats.ToString(),
           spool->index_.count());
  if (options.sync == SyncMode::kNone) {
    TERN_LOG(kWarning,
             "spool %s: --spool_sync=none: NOTHING IS DURABLE, acknowledged mail can be lost "
             "(benchmarking only)",
             spool->shard_dir_);
  }
  RETURN_IF_ERROR(spool->DeleteDeadSegmentsAtStartUp());
  StorageBackend* storage = options.storage;
  if (storage == nullptr) {
    return absl::InvalidArgumentError("spool: no storage backend (engine::CreateStorage)");
  }
  spool->storage_ = storage;
  spool->reader_ = std::make_unique<SegmentReader>(storage, spool->shard_dir_);
  GroupCommitOptions commit_options;
  commit_options.shard_dir = spool->shard_dir_;
  commit_options.first_segment = stats.last_segment + 1;
  commit_options.segment_bytes = options.segment_bytes;
  commit_options.sync = options.sync;
  commit_options.prefill = options.prefill;
  commit_options.prepare_retry_interval = options.prepare_retry_interval;
  ShardSpool* raw = spool.get();
  commit_options.on_segment_created = [raw](uint64_t segment, uint64_t file_bytes) {
    raw->ledger_.AddSegment(segment, file_bytes);
    raw->UpdateGauges();
  };
  spool->commit_ =
      std::make_unique<GroupCommit>(loop, storage, std::move(commit_options), &spool->counters_);
  spool->UpdateGauges();
  spool->ScheduleGc();
  return spool;
}

// Blocking (start-up): the deletions garbage collection would make, all of them, in order.
absl::Status ShardSpool::DeleteDeadSegmentsAtStartUp() {
  GcLimits unbounded;
  unbounded.deletes_max = SIZE_MAX;
  unbounded.copies_max = 0;
  const GcPlan plan = PlanGc(ledger_, recovery_stats_.last_segment + 1, unbounded);
  for (uint64_t segment : plan.deletes) {
    const std::string path = SegmentPath(shard_dir_, segment);
    if (options_.crash_during_open && options_.crash_during_open("delete-dead-segment")) {
      return absl::AbortedError("injected crash during start-up at delete-dead-segment");
    }
    if (::unlink(path.c_str()) != 0) return ErrnoStatus("unlink", path, errno);
    // Durable before the next one: deletions must reach the disk oldest first.
    RETURN_IF_ERROR(SyncDirectory(shard_dir_));
    const SegmentUsage* u = ledger_.Find(segment);
    SpoolCounters::Add(counters_.bytes_reclaimed, u->file_bytes);
    SpoolCounters::Add(counters_.segments_deleted, 1);
    ledger_.RemoveSegment(segment);
  }
  if (!plan.deletes.empty()) {
    TERN_LOG(kInfo, "spool %s: deleted %d dead segments at start-up", shard_dir_,
             plan.deletes.size());
  }
  return absl::OkStatus();
}

ShardSpool::~ShardSpool() {
  // gc_timer_ cancels itself if still armed (Shutdown() disarms it).
  // GroupCommit's and SegmentReader's destructors CHECK that nothing is in flight.
  commit_.reset();
  reader_.reset();
}

void ShardSpool::UpdateGauges() {
  SpoolCounters::Set(counters_.segments_on_disk, ledger_.segment_count());
  SpoolCounters::Set(counters_.bytes_on_disk, ledger_.file_bytes());
}

absl::Status ShardSpool::CheckAccepting() const { return commit_->CheckAccepting(); }

uint64_t ShardSpool::NextQueueId() {
  last_sequence_ = std::max(last_sequence_ + 1, MicrosSinceQueueIdEpoch());
  CHECK_LE(last_sequence_, kQueueIdSequenceMask);
  return (static_cast<uint64_t>(options_.shard_id) << kQueueIdShardShift) | last_sequence_;
}

absl::Status ShardSpool::BeginMessage(uint64_t queue_id, const MessageEnvelope& envelope,
                                      core::ByteBuffer* record) {
  return BeginMessageRecord(queue_id, envelope, record);
}

void ShardSpool::CommitMessage(uint64_t queue_id, core::ByteBuffer record, OnDurable on_durable) {
  if (record.size() > options_.record_bytes_max) {
    commit_->Reject(absl::ResourceExhaustedError(absl::StrCat("message record of ", record.size(),
                                                              " bytes exceeds the spool's ",
                                                              options_.record_bytes_max)),
                    std::move(on_durable));
    return;
  }
  CHECK_GE(record.size(), kRecordHeaderBytes);
  CHECK_EQ(static_cast<uint8_t>(record.data()[kRecordTypeOffset]),
           static_cast<uint8_t>(RecordType::kMessage));
  CHECK_EQ(LoadLE64(record.data() + kRecordQueueIdOffset), queue_id);
  FinishRecord(&record);
  MessageRecordView message;
  // The envelope was written by BeginMessage: failing to parse it is a bug.
  CHECK(message.Parse(record.view().substr(kRecordHeaderBytes)));
  // Built now, while the record is at hand: one allocation, inserted once durable.
  QueueEntry entry = QueueEntry::FromMessage(RecordLocation{}, message);
  commit_->AppendLocated(std::move(record),
                         [this, queue_id, entry = std::move(entry), cb = std::move(on_durable)](
                             absl::Status status, RecordLocation where) mutable {
                           if (status.ok()) {
                             entry.set_location(where);
                             index_.Insert(queue_id, std::move(entry));
                             ledger_.NoteRecord(where, /*is_message=*/true);
                             ledger_.AddLive(queue_id, where);
                             if (on_queued_) on_queued_(queue_id);
                           }
                           cb(std::move(status));
                         });
}

void ShardSpool::AppendRecord(RecordType type, uint64_t queue_id, absl::string_view payload,
                              OnDurable on_durable) {
  CHECK(type != RecordType::kZero);
  if (kRecordHeaderBytes + payload.size() > options_.record_bytes_max) {
    commit_->Reject(absl::ResourceExhaustedError("record too large"), std::move(on_durable));
    return;
  }
  core::ByteBuffer record(kRecordHeaderBytes + payload.size());
  StartRecord(type, queue_id, &record);
  record.Append(payload);
  FinishRecord(&record);
  const bool is_message = type == RecordType::kMessage;
  // Counted in the ledger like every record: garbage collection must know a segment holds
  // state records before it deletes one out of order (spool/segment_gc.h).
  commit_->AppendLocated(std::move(record), [this, is_message, cb = std::move(on_durable)](
                                                absl::Status status, RecordLocation where) mutable {
    if (status.ok()) ledger_.NoteRecord(where, is_message);
    cb(std::move(status));
  });
}

void ShardSpool::RecordRecipientResults(uint64_t queue_id, std::span<const RecipientResult> results,
                                        OnDurable on_durable) {
  const QueueEntry* entry = index_.Find(queue_id);
  absl::Status invalid;
  if (entry == nullptr) {
    invalid = absl::NotFoundError(absl::StrCat("queue id ", queue_id, " is not in the spool"));
  } else if (results.empty() || results.size() > entry->recipient_count()) {
    invalid = absl::InvalidArgumentError(absl::StrCat("queue id ", queue_id, ": ", results.size(),
                                                      " results for ", entry->recipient_count(),
                                                      " recipients"));
  } else {
    for (const RecipientResult& r : results) {
      if (r.recipient >= entry->recipient_count() || r.state == RecipientState::kPending) {
        invalid = absl::InvalidArgumentError(
            absl::StrCat("queue id ", queue_id, ": bad result for recipient ", r.recipient));
        break;
      }
    }
  }
  if (!invalid.ok()) {
    loop_->RunSoon([cb = std::move(on_durable), invalid]() mutable { cb(invalid); });
    return;
  }
  // One waiter for the lot: the first error, or OK once every record is durable.
  struct Pending {
    size_t left;
    absl::Status first_error;
    OnDurable done;
  };
  auto pending = std::make_shared<Pending>(Pending{results.size(), {}, std::move(on_durable)});
  state_in_flight_[queue_id] += static_cast<uint32_t>(results.size());
  for (const RecipientResult& result : results) {
    core::ByteBuffer record;
    EncodeRecipientResult(queue_id, result, &record);
    // Kept for the index update: the numbers only (the caller's strings die with the call).
    // The strings live on in the attempt history's note.
    RecipientResult numbers = result;
    numbers.enhanced_code = numbers.reply_text = numbers.destination_host = {};
    AttemptNote note = AttemptNote::From(result, absl::ToUnixMicros(absl::Now()));
    commit_->AppendLocated(std::move(record),
                           [this, queue_id, pending, r = numbers, note = std::move(note)](
                               absl::Status status, RecordLocation where) mutable {
                             StateRecordDone(queue_id);
                             if (status.ok()) {
                               ledger_.NoteRecord(where, /*is_message=*/false);
                               SpoolCounters::Add(counters_.state_records, 1);
                               // Before the result: a finished message takes its notes with it.
                               if (index_.Find(queue_id) != nullptr) {
                                 index_.mutable_history()->Add(queue_id, note);
                               }
                               ApplyResult(queue_id, r);
                             } else if (pending->first_error.ok()) {
                               pending->first_error = status;
                             }
                             if (--pending->left == 0)
                               pending->done(std::move(pending->first_error));
                           });
  }
}

void ShardSpool::StateRecordDone(uint64_t queue_id) {
  auto it = state_in_flight_.find(queue_id);
  CHECK(it != state_in_flight_.end());
  if (--it->second == 0) state_in_flight_.erase(it);
}

void ShardSpool::ApplyResult(uint64_t queue_id, const RecipientResult& result) {
  QueueEntry* entry = index_.FindMutable(queue_id);
  if (entry == nullptr) return;  // finished by an earlier record of the same call
  CHECK(entry->ApplyResult(result.recipient, result.state, result.attempts,
                           result.next_attempt_unix_us));
  FinishIfDone(queue_id);
}

void ShardSpool::FinishIfDone(uint64_t queue_id) {
  const QueueEntry* entry = index_.Find(queue_id);
  if (entry == nullptr || !entry->finished()) return;
  if (on_finished_) on_finished_(queue_id, *entry);
  ledger_.RemoveLive(queue_id, entry->location());
  CHECK(index_.Remove(queue_id));
  SpoolCounters::Add(counters_.messages_finished, 1);
}

void ShardSpool::SetHeld(uint64_t queue_id, bool held, OnDurable on_durable,
                         int64_t until_unix_us) {
  if (index_.Find(queue_id) == nullptr) {
    loop_->RunSoon([cb = std::move(on_durable), queue_id]() mutable {
      cb(absl::NotFoundError(absl::StrCat("queue id ", queue_id, " is not in the spool")));
    });
    return;
  }
  core::ByteBuffer record;
  EncodeHold(queue_id, held, absl::ToUnixMicros(absl::Now()), &record, until_unix_us);
  ++state_in_flight_[queue_id];
  commit_->AppendLocated(std::move(record),
                         [this, queue_id, held, until_unix_us, cb = std::move(on_durable)](
                             absl::Status status, RecordLocation where) mutable {
                           StateRecordDone(queue_id);
                           if (status.ok()) {
                             ledger_.NoteRecord(where, /*is_message=*/false);
                             SpoolCounters::Add(counters_.state_records, 1);
                             index_.SetHeld(queue_id, held, until_unix_us);
                           }
                           cb(std::move(status));
                         });
}

void ShardSpool::ReadMessage(uint64_t queue_id, OnLoaded done) {
  const QueueEntry* entry = index_.Find(queue_id);
  absl::Status refused;
  if (shutdown_stage_ != ShutdownStage::kRunning) {
    refused = absl::UnavailableError("spool is shutting down");
  } else if (entry == nullptr) {
    refused = absl::NotFoundError(absl::StrCat("queue id ", queue_id, " is not in the spool"));
  }
  if (!refused.ok()) {
    loop_->RunSoon([done = std::move(done), refused]() mutable { done(refused); });
    return;
  }
  const RecordLocation at = entry->location();
  reader_->Read(at, [this, queue_id, at,
                     done = std::move(done)](absl::StatusOr<core::ByteBuffer> bytes) mutable {
    absl::StatusOr<LoadedMessage> loaded =
        bytes.ok() ? LoadedMessage::FromRecord(queue_id, at, SegmentPath(shard_dir_, at.segment),
                                               std::move(*bytes))
                   : absl::StatusOr<LoadedMessage>(bytes.status());
    SpoolCounters::Add(loaded.ok() ? counters_.messages_read : counters_.read_errors, 1);
    done(std::move(loaded));
  });
}

void ShardSpool::Shutdown(absl::AnyInvocable<void()> done) {
  CHECK(shutdown_stage_ == ShutdownStage::kRunning);
  shutdown_stage_ = ShutdownStage::kWaitingForGc;
  shutdown_cb_ = std::move(done);
  loop_->timers().Cancel(&gc_timer_);
  ContinueShutdown();
}

// Garbage collection's work in flight ends first (its copies go through the group commit),
// then the reads and their descriptors, then the group commit itself.
void ShardSpool::ContinueShutdown() {
  if (shutdown_stage_ != ShutdownStage::kWaitingForGc || gc_ops_in_flight_ > 0) return;
  shutdown_stage_ = ShutdownStage::kClosingReader;
  reader_->CloseAll([this] {
    shutdown_stage_ = ShutdownStage::kClosingCommit;
    commit_->Shutdown([this] {
      shutdown_stage_ = ShutdownStage::kDone;
      shutdown_done_ = true;
      auto cb = std::move(shutdown_cb_);
      cb();
    });
  });
}

}  // namespace tern::spool
