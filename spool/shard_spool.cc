// ShardSpool: start-up, queue ids, and the MESSAGE path into the group commit and index.
#include "spool/shard_spool.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/check.h"
#include "core/log.h"
#include "core/status_macros.h"
#include "spool/little_endian.h"
#include "spool/record_codec.h"
#include "spool/ring_storage.h"
#include "spool/segment_files.h"

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
  ASSIGN_OR_RETURN(spool->recovery_stats_, RecoverShard(spool->shard_dir_, &spool->index_));
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
  StorageBackend* storage = options.storage;
  if (storage == nullptr) {
    spool->owned_storage_ = std::make_unique<RingStorage>(loop);
    storage = spool->owned_storage_.get();
  }
  GroupCommitOptions commit_options;
  commit_options.shard_dir = spool->shard_dir_;
  commit_options.first_segment = stats.last_segment + 1;
  commit_options.segment_bytes = options.segment_bytes;
  commit_options.sync = options.sync;
  commit_options.prepare_retry_interval = options.prepare_retry_interval;
  spool->commit_ = std::make_unique<GroupCommit>(loop, storage, commit_options, &spool->counters_);
  return spool;
}

ShardSpool::~ShardSpool() {
  // GroupCommit's destructor CHECKs that nothing is in flight.
  commit_.reset();
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
  commit_->Append(std::move(record), std::move(on_durable));
}

void ShardSpool::Shutdown(absl::AnyInvocable<void()> done) {
  commit_->Shutdown([this, done = std::move(done)]() mutable {
    shutdown_done_ = true;
    done();
  });
}

}  // namespace tern::spool
