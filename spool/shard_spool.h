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
// CommitMessage's waiter runs on the loop's thread, never inside the call; once it got OK
// the message is in index(). Queue ids: top 8 bits the shard id, low 56 bits
// max(last issued + 1, microseconds since 2020-01-01 UTC), never below the highest id
// recovered + 1: unique across shards and restarts, increasing within a shard.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/byte_buffer.h"
#include "core/loop.h"
#include "spool/group_commit.h"
#include "spool/message_record.h"
#include "spool/queue_index.h"
#include "spool/record_format.h"
#include "spool/recovery.h"
#include "spool/spool_counters.h"
#include "spool/spool_options.h"
#include "spool/storage.h"

namespace tern::spool {

inline constexpr int kQueueIdShardShift = 56;
inline constexpr uint64_t kQueueIdSequenceMask = (uint64_t{1} << kQueueIdShardShift) - 1;
static_assert(kShardIdMax < (1 << (64 - kQueueIdShardShift)), "shard id fits the top bits");

class ShardSpool {
 public:
  using OnDurable = absl::AnyInvocable<void(absl::Status)>;

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

  // Appends a record of any other type (DELIVERED, HOLD, ...) with `payload`.
  void AppendRecord(RecordType type, uint64_t queue_id, absl::string_view payload,
                    OnDurable on_durable);

  const QueueIndex& index() const { return index_; }
  QueueIndex* mutable_index() { return &index_; }
  const SpoolCounters& counters() const { return counters_; }
  const RecoveryStats& recovery_stats() const { return recovery_stats_; }
  const std::string& shard_dir() const { return shard_dir_; }
  uint64_t current_segment() const { return commit_->current_segment(); }

  // Lets the in-flight and pending batches complete, closes files, then calls `done` from
  // the loop. Nothing may be appended afterwards (waiters would fail with Unavailable).
  void Shutdown(absl::AnyInvocable<void()> done);

 private:
  ShardSpool(core::Loop* loop, const SpoolOptions& options, std::string shard_dir);

  core::Loop* loop_;
  SpoolOptions options_;
  std::string shard_dir_;
  QueueIndex index_;
  RecoveryStats recovery_stats_;
  SpoolCounters counters_;
  std::unique_ptr<StorageBackend> owned_storage_;
  std::unique_ptr<GroupCommit> commit_;
  uint64_t last_sequence_ = 0;  // low 56 bits of the last queue id issued or recovered
  bool shutdown_done_ = false;
};

}  // namespace tern::spool
