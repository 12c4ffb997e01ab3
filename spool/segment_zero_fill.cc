// SegmentZeroFill: one zero write in flight at a time, then one fdatasync (behaviour:
// spool/segment_zero_fill.h).
#include "spool/segment_zero_fill.h"

#include <algorithm>
#include <utility>

#include "core/check.h"

namespace tern::spool {

void SegmentZeroFill::Start(FileHandle file, uint64_t bytes, Done done) {
  CHECK(!busy());
  CHECK_GT(bytes, 0);
  file_ = file;
  bytes_ = bytes;
  offset_ = 0;
  stopping_ = false;
  done_ = std::move(done);
  Next();
}

void SegmentZeroFill::Next() {
  if (stopping_) return Finish(absl::CancelledError("zero fill stopped: segment needed"));
  if (offset_ < bytes_) {
    const uint64_t piece = std::min(kZeroWriteBytesMax, bytes_ - offset_);
    stage_ = Stage::kWriting;
    storage_->WriteZeros(file_, offset_, piece, SyncMode::kNone, [this, piece](absl::Status s) {
      if (!s.ok()) return Finish(std::move(s));
      offset_ += piece;
      SpoolCounters::Add(counters_->prefill_bytes, piece);
      Next();
    });
    return;
  }
  CHECK_EQ(offset_, bytes_);
  stage_ = Stage::kSyncing;
  storage_->WriteZeros(file_, bytes_, 0, SyncMode::kFdatasync,
                       [this](absl::Status s) { Finish(std::move(s)); });
}

void SegmentZeroFill::Finish(absl::Status status) {
  stage_ = Stage::kIdle;
  Done done = std::move(done_);
  done_ = nullptr;
  done(std::move(status));
}

}  // namespace tern::spool
