// GroupCommit: one shard's appender. Records appended during one loop iteration are written
// at the end of that iteration as ONE gathered write + ONE fdatasync (linked in the ring),
// and each record's waiter is told once that sync completed — the only moment a message may
// be answered 250.
//
// Batching: one commit is in flight at a time; records appended meanwhile form the next
// batch, so batches grow with load and the sync rate stays bounded by the disk. The buffers
// are written where they are (writev), never copied.
//
// Bounds and what happens at them:
//   - a batch is closed at kBatchRecordsMax records or batch_bytes_max bytes (default
//     kBatchBytesMax, at most segment_bytes); further records start the next batch, which is
//     committed after the current one (batches queue, one in flight);
//   - more than IOV_MAX buffers in a batch: the backend chains several writevs;
//   - backlog (queued, uncommitted bytes) above backlog_bytes_max: CheckAccepting() says
//     ResourceExhausted until it drains (records already handed over are still written);
//   - a batch that does not fit in the rest of the current segment goes to the next one
//     (the tail of the old one stays zero = end of data).
//
// Segments: the first one is prepared (created + fallocate'd + synced, through the backend)
// at construction; the next is prepared once the current one is half full, so rotation never
// waits on the disk unless the shard writes half a segment faster than a preallocation.
// With prefill kZero (and kFdatasync), a segment prepared ahead is then zero-filled and
// synced (SegmentZeroFill: 1 MiB pieces, one in flight at a time, then one fdatasync) before
// it becomes current, so that commits there convert no unwritten extents. If the current
// segment fills up first, the fill stops, the operation in flight is waited for, and the
// rest of the segment stays as preallocated (segments_prefill_late); a failed fill likewise
// (prefill_errors). Segments prepared because one is needed now (the first,
// after an error) are not zero-filled.
//
// Failures:
//   - write or fdatasync error: every waiter of that batch gets the error (Unavailable /
//     DataLoss naming the file and errno; never OK), write_errors is bumped, the segment is
//     abandoned (closed, never written again) and the next batch goes to a new segment.
//     Under kFdatasync the failed range is first erased: zeros written over it and synced
//     (SegmentZeroFill), and no further batch is written until that is done. The failed
//     records may have reached the disk all the same, and recovery reads them in file order:
//     left there, a failed DELIVERED would come back ahead of a BOUNCED for the same
//     recipient acknowledged later (the first final result read sticks), or a failed HOLD
//     after an acknowledged RELEASE. If erasing fails it is retried every
//     prepare_retry_interval; meanwhile CheckAccepting() returns the error and every batch
//     fails (none may be acknowledged while the failed records could still come back).
//   - segment creation error (ENOSPC...): CheckAccepting() returns it (ResourceExhausted for
//     ENOSPC: 452 4.3.1), batches that need a new segment fail, and creation is retried
//     every prepare_retry_interval until it works; then the spool accepts again.
//
// Usage (on the loop's thread):
//   GroupCommit commit(loop, &storage, options, &counters);
//   commit.Append(std::move(record), [](absl::Status s) { s.ok() ? Reply250() : Reply451(); });
//   ...
//   commit.Shutdown([] { /* every batch completed, files closed */ });  // before destroying
// Waiters run on the loop's thread, never from inside Append(). Append may be called from any
// code on the loop's thread (completions, timers, hooks): when the spool was idle it queues a
// NOP so the loop runs one more iteration and flushes.
#pragma once

#include <sys/uio.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "core/byte_buffer.h"
#include "core/loop.h"
#include "core/timer_wheel.h"
#include "spool/record_location.h"
#include "spool/segment_zero_fill.h"
#include "spool/spool_counters.h"
#include "spool/storage.h"

namespace tern::spool {

inline constexpr size_t kBatchRecordsMax = 8 * 1024;  // 8 chained writevs of IOV_MAX
inline constexpr uint64_t kBatchBytesMax = uint64_t{64} << 20;
inline constexpr uint64_t kBacklogBytesMaxDefault = uint64_t{256} << 20;

struct GroupCommitOptions {
  std::string shard_dir;
  uint64_t first_segment = 1;  // number of the first segment to create
  uint64_t segment_bytes = 0;
  SyncMode sync = SyncMode::kFdatasync;
  SegmentPrefill prefill = SegmentPrefill::kZero;  // kZero is skipped under SyncMode::kNone
  uint64_t batch_bytes_max = kBatchBytesMax;       // clamped to segment_bytes
  uint64_t backlog_bytes_max = kBacklogBytesMaxDefault;
  absl::Duration prepare_retry_interval = absl::Seconds(1);
  // Told (on the loop) of every segment file created and preallocated, e.g. for accounting.
  std::function<void(uint64_t segment, uint64_t file_bytes)> on_segment_created;
};

class GroupCommit {
 public:
  using OnDurable = absl::AnyInvocable<void(absl::Status)>;
  using OnDurableAt = absl::AnyInvocable<void(absl::Status, RecordLocation)>;

  // `storage` and `counters` must outlive this object.
  GroupCommit(core::Loop* loop, StorageBackend* storage, GroupCommitOptions options,
              SpoolCounters* counters);
  // CHECKs that nothing is in flight: call Shutdown() and wait for it first.
  ~GroupCommit();
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  // Adds a finished record (spool/record_codec.h) to the current batch; `on_durable` is
  // called once it is durable (OK) or failed. The record must not exceed segment_bytes
  // (CHECKed: callers bound it). After Shutdown() the waiter fails with Unavailable.
  void Append(core::ByteBuffer record, OnDurable on_durable);
  // The same, also reporting where the record was written.
  void AppendLocated(core::ByteBuffer record, OnDurableAt on_durable);

  // Fails `on_durable` with `status` from the loop (never inside this call): for records a
  // caller refuses (too large) but whose waiter must still be told asynchronously.
  void Reject(absl::Status status, OnDurable on_durable);

  // OK, or why new mail should be refused now (see Failures above).
  absl::Status CheckAccepting() const;

  // Lets the in-flight and pending batches complete, closes the segments, then calls `done`
  // (from the loop). Appends after this fail.
  void Shutdown(absl::AnyInvocable<void()> done);

  // The segment being appended to (0: none yet).
  uint64_t current_segment() const { return current_ ? current_->number : 0; }
  // Every segment numbered below this one is sealed: it will never be written again.
  uint64_t oldest_writable_segment() const {
    if (current_) return current_->number;
    if (next_) return next_->number;
    return next_number_;
  }
  uint64_t backlog_bytes() const { return backlog_bytes_; }

 private:
  struct Batch {
    std::vector<core::ByteBuffer> records;
    std::vector<OnDurableAt> waiters;
    std::vector<iovec> iov;
    uint64_t bytes = 0;
    std::vector<std::chrono::steady_clock::time_point> appended;  // when each record came
    std::chrono::steady_clock::time_point submitted;              // when its write was submitted
  };
  struct Segment {
    uint64_t number = 0;
    FileHandle file = -1;
    uint64_t offset = 0;  // next byte to write
  };
  // A failed commit's range, still to be erased before any further batch is written.
  struct FailedRange {
    Segment segment;  // abandoned: closed once its range is erased
    uint64_t offset = 0;
    uint64_t bytes = 0;
    absl::Status error;  // of the last attempt to erase it (OK while the first one runs)
  };
  // kFilling: next_ is created, and zero_fill_ works on it.
  enum class NextState { kNone, kPreparing, kFilling, kReady, kFailed };
  class RetryTimer final : public core::Timer {
   public:
    explicit RetryTimer(GroupCommit* owner) : owner_(owner) {}
    void OnTimer() override { owner_->OnRetryTimer(); }

   private:
    GroupCommit* owner_;
  };

  void Flush();  // the loop iteration hook
  void Kick();   // queues a NOP so the loop runs (at least) one more iteration
  bool EnsureRoomFor(uint64_t bytes);
  void StartCommit();
  void OnCommitDone(absl::Status status, uint64_t segment, uint64_t offset);
  void FailBatch(Batch& batch, const absl::Status& status);
  // `ahead`: the current segment still has room, so the new one may be zero-filled.
  void PrepareNext(bool ahead);
  void OnPrepared(uint64_t number, bool ahead, absl::StatusOr<FileHandle> file);
  void OnZeroFilled(uint64_t number, absl::Status status);
  void OnRetryTimer();
  // Zeros over the range of the failed commit in unerased_, then an fdatasync.
  void StartErase();
  void OnErased(absl::Status status);
  void CloseSegment(Segment segment);
  void MaybeFinishShutdown();

  core::Loop* loop_;
  StorageBackend* storage_;
  GroupCommitOptions options_;
  SpoolCounters* counters_;
  std::shared_ptr<GroupCommit*> hook_cell_;

  std::deque<Batch> pending_;  // back() is the batch open for appends
  std::unique_ptr<Batch> in_flight_;
  // Refused records' waiters (Reject(), or appended after Shutdown): failed from the hook.
  std::vector<std::pair<absl::Status, OnDurableAt>> rejected_;
  uint64_t backlog_bytes_ = 0;

  std::optional<Segment> current_;
  std::optional<Segment> next_;
  NextState next_state_ = NextState::kNone;
  SegmentZeroFill zero_fill_;
  std::optional<FailedRange> unerased_;
  SegmentZeroFill eraser_;  // busy while unerased_ is being erased
  uint64_t next_number_;
  absl::Status prepare_error_;
  RetryTimer retry_timer_{this};

  int ops_in_flight_ = 0;  // backend operations whose callbacks will reach this object
  bool shutting_down_ = false;
  bool closed_ = false;
  absl::AnyInvocable<void()> shutdown_done_;
};

}  // namespace tern::spool
