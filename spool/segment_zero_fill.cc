// SegmentZeroFill: one zero piece in flight at a time, then one fdatasync (behaviour:
// spool/segment_zero_fill.h).
#include "spool/segment_zero_fill.h"

#include <algorithm>
#include <utility>

#include "core/check.h"

namespace tern::spool {

void SegmentZeroFill::Start(FileHandle file, uint64_t from, uint64_t to, Done done) {
  CHECK(!busy());
  CHECK_LT(from, to);
  file_ = file;
  end_ = to;
  offset_ = from;
  stopping_ = false;
  done_ = std::move(done);
  Next();
}

void SegmentZeroFill::Next() {
  CHECK(!busy());
  if (stopping_) return Finish(absl::CancelledError("zero fill stopped: segment needed"));
  in_flight_ = true;
  if (offset_ == end_) {
    // Makes the extent conversions durable (one journal commit for the segment).
    storage_->WriteZeros(file_, end_, 0, SyncMode::kFdatasync, [this](absl::Status s) {
      in_flight_ = false;
      Finish(std::move(s));
    });
    return;
  }
  const uint64_t piece = std::min(kZeroWriteBytesMax, end_ - offset_);
  storage_->WriteZeros(file_, offset_, piece, SyncMode::kNone, [this, piece](absl::Status s) {
    in_flight_ = false;
    if (!s.ok()) return Finish(std::move(s));
    offset_ += piece;
    if (counters_ != nullptr) SpoolCounters::Add(counters_->prefill_bytes, piece);
    Next();
  });
}

void SegmentZeroFill::Finish(absl::Status status) {
  Done done = std::move(done_);
  done_ = nullptr;
  done(std::move(status));
}

}  // namespace tern::spool
