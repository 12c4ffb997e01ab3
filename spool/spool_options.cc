// SpoolOptions::Validate: the relations between the spool's sizes.
#include "spool/spool_options.h"

#include "absl/strings/str_cat.h"

namespace tern::spool {

absl::Status SpoolOptions::Validate() const {
  if (spool_dir.empty()) return absl::InvalidArgumentError("spool_dir is empty");
  if (shard_id < 0 || shard_id > kShardIdMax) {
    return absl::InvalidArgumentError(
        absl::StrCat("shard_id ", shard_id, " not in [0, ", kShardIdMax, "]"));
  }
  if (segment_bytes < kSegmentBytesMin || segment_bytes > kSegmentBytesMax) {
    return absl::InvalidArgumentError(absl::StrCat("segment_bytes ", segment_bytes, " not in [",
                                                   kSegmentBytesMin, ", ", kSegmentBytesMax, "]"));
  }
  if (record_bytes_max <= kRecordHeaderBytes || record_bytes_max > kRecordBytesMax) {
    return absl::InvalidArgumentError(absl::StrCat("record_bytes_max ", record_bytes_max,
                                                   " not in (", kRecordHeaderBytes, ", ",
                                                   kRecordBytesMax, "]"));
  }
  if (record_bytes_max > segment_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("segment_bytes ", segment_bytes,
                                                   " cannot hold the largest record (",
                                                   record_bytes_max, " bytes)"));
  }
  if (prepare_retry_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("prepare_retry_interval must be positive");
  }
  if (gc_interval < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("gc_interval must not be negative");
  }
  return absl::OkStatus();
}

}  // namespace tern::spool
