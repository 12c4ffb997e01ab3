// GroupCommit: batching, segment rotation and failure handling (behaviour: group_commit.h).
#include "spool/group_commit.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/check.h"
#include "core/log.h"
#include "spool/record_format.h"
#include "spool/segment_files.h"

namespace tern::spool {
namespace {

uint64_t MicrosBetween(std::chrono::steady_clock::time_point from,
                       std::chrono::steady_clock::time_point to) {
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(to - from).count();
  return micros > 0 ? static_cast<uint64_t>(micros) : 0;
}

}  // namespace

GroupCommit::GroupCommit(core::Loop* loop, StorageBackend* storage, GroupCommitOptions options,
                         SpoolCounters* counters)
    : loop_(loop),
      storage_(storage),
      options_(std::move(options)),
      counters_(counters),
      hook_cell_(std::make_shared<GroupCommit*>(this)),
      zero_fill_(storage, counters),
      eraser_(storage, /*counters=*/nullptr),
      next_number_(options_.first_segment) {
  CHECK_GE(options_.segment_bytes, kSegmentBytesMin);
  CHECK_LE(options_.segment_bytes, kSegmentBytesMax);
  CHECK_GE(options_.first_segment, 1);
  options_.batch_bytes_max = std::min(options_.batch_bytes_max, options_.segment_bytes);
  // The hook may outlive this object inside the loop: it reaches us through a cell that the
  // destructor clears.
  loop_->AddIterationHook([cell = hook_cell_] {
    if (*cell != nullptr) (*cell)->Flush();
  });
  PrepareNext(/*ahead=*/false);
}

GroupCommit::~GroupCommit() {
  CHECK_EQ(ops_in_flight_, 0);
  CHECK(in_flight_ == nullptr);
  CHECK(!zero_fill_.busy());
  CHECK(!eraser_.busy());
  *hook_cell_ = nullptr;
}

void GroupCommit::Append(core::ByteBuffer record, OnDurable on_durable) {
  AppendLocated(
      std::move(record),
      [cb = std::move(on_durable)](absl::Status s, RecordLocation) mutable { cb(std::move(s)); });
}

void GroupCommit::AppendLocated(core::ByteBuffer record, OnDurableAt on_durable) {
  CHECK_GE(record.size(), kRecordHeaderBytes);
  CHECK_LE(record.size(), options_.segment_bytes);
  if (shutting_down_) {
    rejected_.emplace_back(absl::UnavailableError("spool is shutting down"), std::move(on_durable));
    return;
  }
  const uint64_t bytes = record.size();
  // Idle until now: make sure the loop runs another iteration (and so Flush()) even if this
  // append came from outside a completion, e.g. from a later iteration hook. Under load a
  // commit is in flight and its completion does this.
  if (in_flight_ == nullptr && pending_.empty()) Kick();
  if (pending_.empty() || pending_.back().records.size() >= kBatchRecordsMax ||
      (!pending_.back().records.empty() &&
       pending_.back().bytes + bytes > options_.batch_bytes_max)) {
    pending_.emplace_back();
  }
  Batch& batch = pending_.back();
  batch.records.push_back(std::move(record));
  batch.waiters.push_back(std::move(on_durable));
  batch.appended.push_back(std::chrono::steady_clock::now());
  batch.bytes += bytes;
  backlog_bytes_ += bytes;
}

void GroupCommit::Reject(absl::Status status, OnDurable on_durable) {
  CHECK(!status.ok());
  rejected_.emplace_back(
      std::move(status),
      [cb = std::move(on_durable)](absl::Status s, RecordLocation) mutable { cb(std::move(s)); });
}

absl::Status GroupCommit::CheckAccepting() const {
  if (shutting_down_) return absl::UnavailableError("spool is shutting down");
  // Still refused while a retry is in progress: only a created segment clears the error.
  if (!prepare_error_.ok()) return prepare_error_;
  if (unerased_ && !unerased_->error.ok()) return unerased_->error;
  if (backlog_bytes_ > options_.backlog_bytes_max) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "spool backlog of ", backlog_bytes_, " bytes exceeds ", options_.backlog_bytes_max));
  }
  return absl::OkStatus();
}

void GroupCommit::Flush() {
  if (!rejected_.empty()) {
    auto rejected = std::move(rejected_);
    rejected_.clear();
    SpoolCounters::Add(counters_->failed_records, rejected.size());
    for (auto& [status, waiter] : rejected) waiter(std::move(status), RecordLocation{});
  }
  while (in_flight_ == nullptr && !pending_.empty()) {
    if (unerased_) {
      if (eraser_.busy()) break;  // written once the failed range is erased
      // Erasing failed: the failed records may still come back, so nothing may be
      // acknowledged until a retry erases them.
      Batch batch = std::move(pending_.front());
      pending_.pop_front();
      backlog_bytes_ -= batch.bytes;
      FailBatch(batch, unerased_->error);
      continue;
    }
    if (EnsureRoomFor(pending_.front().bytes)) {
      StartCommit();
      break;
    }
    if (next_state_ != NextState::kFailed) break;  // a segment is on its way: wait
    // No segment can be had now: fail the batch rather than keep its client waiting.
    Batch batch = std::move(pending_.front());
    pending_.pop_front();
    backlog_bytes_ -= batch.bytes;
    FailBatch(batch, prepare_error_);
  }
  MaybeFinishShutdown();
}

// True when the current segment can take `bytes` more; otherwise rotates to the prepared
// segment if there is one, or starts preparing one.
bool GroupCommit::EnsureRoomFor(uint64_t bytes) {
  if (current_ && current_->offset + bytes <= options_.segment_bytes) return true;
  switch (next_state_) {
    case NextState::kFilling:
      if (!zero_fill_.stopping()) {
        SpoolCounters::Add(counters_->segments_prefill_late, 1);
        zero_fill_.Stop();
      }
      // Wait for the operation in flight (its completion runs the loop, and so Flush,
      // again): a zero piece could land over the records, and the fill's fdatasync failing
      // on pages that hold records would report their error to the fill, not to their
      // commit (one error report per open file).
      if (zero_fill_.busy()) return false;
      [[fallthrough]];
    case NextState::kReady:
      if (current_) CloseSegment(*current_);
      current_ = next_;
      next_.reset();
      next_state_ = NextState::kNone;
      CHECK_LE(bytes, options_.segment_bytes);
      return true;
    case NextState::kNone:
      PrepareNext(/*ahead=*/false);
      return false;
    case NextState::kPreparing:
    case NextState::kFailed:
      return false;
  }
  return false;
}

void GroupCommit::StartCommit() {
  CHECK(in_flight_ == nullptr);
  CHECK(current_.has_value());
  in_flight_ = std::make_unique<Batch>(std::move(pending_.front()));
  pending_.pop_front();
  Batch& batch = *in_flight_;
  batch.iov.reserve(batch.records.size());
  for (core::ByteBuffer& record : batch.records) {
    batch.iov.push_back(iovec{record.data(), record.size()});
  }
  const uint64_t offset = current_->offset;
  current_->offset += batch.bytes;
  batch.submitted = std::chrono::steady_clock::now();
  CHECK_LE(current_->offset, options_.segment_bytes);
  ++ops_in_flight_;
  storage_->WriteAndSync(current_->file, offset, batch.iov, options_.sync,
                         [this, segment = current_->number, offset](absl::Status status) {
                           OnCommitDone(std::move(status), segment, offset);
                         });
  if (current_->offset > options_.segment_bytes / 2 && next_state_ == NextState::kNone) {
    PrepareNext(/*ahead=*/true);
  }
}

void GroupCommit::OnCommitDone(absl::Status status, uint64_t segment, uint64_t offset) {
  --ops_in_flight_;
  CHECK(in_flight_ != nullptr);
  std::unique_ptr<Batch> batch = std::move(in_flight_);
  backlog_bytes_ -= batch->bytes;
  if (!status.ok()) {
    SpoolCounters::Add(counters_->write_errors, 1);
    TERN_LOG(kError, "spool commit of %d records (%d bytes) at %s offset %d failed: %s",
             batch->records.size(), batch->bytes, SegmentFileName(segment), offset,
             status.ToString());
    if (current_ && current_->number == segment) {
      // Abandon the segment: what is on disk after `offset` is unknown, never write there.
      SpoolCounters::Add(counters_->segments_abandoned, 1);
      if (options_.sync == SyncMode::kFdatasync) {
        // The records may be on disk anyway: erase them before anything later is written
        // (group_commit.h, Failures). The segment is closed after that.
        unerased_ = FailedRange{*current_, offset, batch->bytes, absl::OkStatus()};
        StartErase();
      } else {
        CloseSegment(*current_);
      }
      current_.reset();
    }
    FailBatch(*batch, status);
    return;
  }
  const uint64_t n = batch->records.size();
  SpoolCounters::Add(counters_->commits, 1);
  if (options_.sync == SyncMode::kFdatasync) SpoolCounters::Add(counters_->fdatasyncs, 1);
  SpoolCounters::Add(counters_->records, n);
  SpoolCounters::Add(counters_->bytes, batch->bytes);
  SpoolCounters::Add(counters_->records_per_commit_sum, n);
  SpoolCounters::Add(counters_->records_per_commit_histogram[RecordsPerCommitBucket(n)], 1);
  const auto now = std::chrono::steady_clock::now();
  SpoolCounters::Observe(counters_->commit_latency, MicrosBetween(batch->submitted, now));
  uint64_t at = offset;
  for (size_t i = 0; i < n; ++i) {
    const uint32_t bytes = static_cast<uint32_t>(batch->records[i].size());
    SpoolCounters::Observe(counters_->record_wait, MicrosBetween(batch->appended[i], now));
    batch->waiters[i](absl::OkStatus(), RecordLocation{segment, at, bytes});
    at += bytes;
  }
}

void GroupCommit::FailBatch(Batch& batch, const absl::Status& status) {
  CHECK(!status.ok());
  SpoolCounters::Add(counters_->failed_records, batch.waiters.size());
  for (auto& waiter : batch.waiters) waiter(status, RecordLocation{});
}

void GroupCommit::PrepareNext(bool ahead) {
  CHECK(next_state_ == NextState::kNone || next_state_ == NextState::kFailed);
  CHECK_LE(next_number_, kSegmentNumberMax);
  next_state_ = NextState::kPreparing;
  ++ops_in_flight_;
  const uint64_t number = next_number_;
  storage_->CreateSegment(SegmentPath(options_.shard_dir, number), options_.segment_bytes,
                          [this, number, ahead](absl::StatusOr<FileHandle> file) {
                            OnPrepared(number, ahead, std::move(file));
                          });
}

void GroupCommit::OnPrepared(uint64_t number, bool ahead, absl::StatusOr<FileHandle> file) {
  --ops_in_flight_;
  CHECK(next_state_ == NextState::kPreparing);
  if (!file.ok()) {
    SpoolCounters::Add(counters_->prepare_errors, 1);
    const bool first = prepare_error_.ok();
    prepare_error_ = file.status();
    next_state_ = NextState::kFailed;
    if (first) {
      TERN_LOG(kError, "spool cannot prepare segment %s, not accepting mail until it can: %s",
               SegmentFileName(number), prepare_error_.ToString());
    }
    // The same number is retried: creation reopens a file a failed attempt left behind.
    if (!shutting_down_)
      loop_->timers().Arm(&retry_timer_, loop_->now() + options_.prepare_retry_interval);
    return;
  }
  if (!prepare_error_.ok()) {
    TERN_LOG(kInfo, "spool prepared segment %s, accepting mail again", SegmentFileName(number));
  }
  prepare_error_ = absl::OkStatus();
  SpoolCounters::Add(counters_->segments_created, 1);
  if (options_.on_segment_created) options_.on_segment_created(number, options_.segment_bytes);
  next_ = Segment{number, *file, 0};
  next_number_ = number + 1;
  next_state_ = NextState::kReady;
  if (!ahead || options_.prefill != SegmentPrefill::kZero ||
      options_.sync != SyncMode::kFdatasync || shutting_down_) {
    return;
  }
  // The previous fill finished before its segment became current, and this one is created
  // only after that.
  CHECK(!zero_fill_.busy());
  next_state_ = NextState::kFilling;
  zero_fill_.Start(*file, options_.segment_bytes, [this, number](absl::Status status) {
    OnZeroFilled(number, std::move(status));
  });
}

void GroupCommit::OnZeroFilled(uint64_t number, absl::Status status) {
  CHECK(next_state_ == NextState::kFilling);
  CHECK(next_.has_value());
  CHECK_EQ(next_->number, number);
  if (status.ok()) {
    SpoolCounters::Add(counters_->segments_prefilled, 1);
  } else if (!absl::IsCancelled(status)) {
    SpoolCounters::Add(counters_->prefill_errors, 1);
    TERN_LOG(kWarning, "spool zero fill of segment %s failed, using it as preallocated: %s",
             SegmentFileName(number), status.ToString());
  }
  next_state_ = NextState::kReady;
  MaybeFinishShutdown();
}

void GroupCommit::OnRetryTimer() {
  if (shutting_down_) return;
  if (next_state_ == NextState::kFailed) PrepareNext(/*ahead=*/false);
  if (unerased_ && !eraser_.busy()) StartErase();
}

void GroupCommit::StartErase() {
  CHECK(unerased_.has_value());
  ++ops_in_flight_;
  eraser_.Start(unerased_->segment.file, unerased_->offset, unerased_->offset + unerased_->bytes,
                [this](absl::Status status) { OnErased(std::move(status)); });
}

void GroupCommit::OnErased(absl::Status status) {
  --ops_in_flight_;
  CHECK(unerased_.has_value());
  const std::string name = SegmentFileName(unerased_->segment.number);
  if (status.ok()) {
    if (!unerased_->error.ok()) {
      TERN_LOG(kInfo, "spool erased the failed commit in %s, writing again", name);
    }
    CloseSegment(unerased_->segment);
    unerased_.reset();
    MaybeFinishShutdown();
    return;
  }
  const bool first = unerased_->error.ok();
  unerased_->error =
      absl::UnavailableError(absl::StrCat("spool cannot erase the failed commit at ", name,
                                          " offset ", unerased_->offset, ": ", status.ToString()));
  if (first) {
    TERN_LOG(kError, "%s; failing every commit until it can", unerased_->error.ToString());
  }
  if (!shutting_down_) {
    loop_->timers().Arm(&retry_timer_, loop_->now() + options_.prepare_retry_interval);
  }
  MaybeFinishShutdown();
}

void GroupCommit::CloseSegment(Segment segment) {
  ++ops_in_flight_;
  storage_->Close(segment.file, [this, number = segment.number](absl::Status status) {
    --ops_in_flight_;
    if (!status.ok()) {
      TERN_LOG(kWarning, "spool close of segment %s: %s", SegmentFileName(number),
               status.ToString());
    }
    MaybeFinishShutdown();
  });
}

void GroupCommit::Shutdown(absl::AnyInvocable<void()> done) {
  CHECK(!shutting_down_);
  shutting_down_ = true;
  shutdown_done_ = std::move(done);
  loop_->timers().Cancel(&retry_timer_);
  // Finishing happens from the loop (the hook or a completion), never inside this call.
  Kick();
}

void GroupCommit::Kick() { loop_->WakeSoon(); }

void GroupCommit::MaybeFinishShutdown() {
  if (!shutting_down_ || in_flight_ != nullptr || !pending_.empty() || !rejected_.empty()) {
    return;
  }
  if (next_state_ == NextState::kPreparing) return;
  if (eraser_.busy()) return;  // its completion calls this again
  if (unerased_) {
    // Erasing failed and is not retried any more: the records stay as they are.
    TERN_LOG(kError, "spool shut down with the failed commit at %s offset %d not erased",
             SegmentFileName(unerased_->segment.number), unerased_->offset);
    CloseSegment(unerased_->segment);
    unerased_.reset();
  }
  if (zero_fill_.busy()) {
    zero_fill_.Stop();  // its completion calls this again
    return;
  }
  if (!closed_) {
    closed_ = true;
    if (current_) CloseSegment(*current_);
    current_.reset();
    if (next_) CloseSegment(*next_);
    next_.reset();
    next_state_ = NextState::kNone;
  }
  if (ops_in_flight_ > 0 || !shutdown_done_) return;
  absl::AnyInvocable<void()> done = std::move(shutdown_done_);
  shutdown_done_ = nullptr;
  done();
}

}  // namespace tern::spool
