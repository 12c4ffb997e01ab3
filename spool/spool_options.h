// SpoolOptions: how one shard's spool is set up (from ternd's --spool_* flags).
//
//   SpoolOptions options;
//   options.spool_dir = "/var/spool/tern";
//   options.shard_id = 3;
//   RETURN_IF_ERROR(options.Validate());
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "spool/record_format.h"
#include "spool/segment_zero_fill.h"
#include "spool/storage.h"

namespace tern::spool {

// Default bound on one record (a message with its envelope): 48 MiB, above the usual
// 25-35 MiB SIZE limits once base64 and headers are counted.
inline constexpr uint64_t kRecordBytesMaxDefault = uint64_t{48} << 20;
// Queue ids carry the shard id in their top 8 bits.
inline constexpr int kShardIdMax = 255;

struct SpoolOptions {
  std::string spool_dir;  // created if missing (its parent must exist)
  int shard_id = 0;
  uint64_t segment_bytes = kSegmentBytesDefault;
  uint64_t record_bytes_max = kRecordBytesMaxDefault;  // must fit in a segment
  SyncMode sync = SyncMode::kFdatasync;
  // Segments prepared ahead are zero-filled before use (spool/segment_zero_fill.h), or only
  // fallocate'd.
  SegmentPrefill prefill = SegmentPrefill::kZero;
  absl::Duration prepare_retry_interval = absl::Seconds(1);
  // How often garbage collection looks for segments to delete or compact (one bounded run
  // at a time, spool/segment_gc.h). Zero: never at run time (recovery still cleans).
  absl::Duration gc_interval = absl::Seconds(1);
  // The file I/O backend (required, not owned): the shard's I/O engine's
  // (engine::CreateStorage), or in tests a fault-injecting one.
  StorageBackend* storage = nullptr;
  // Tests: crash points inside Open()'s recovery and start-up deletions (RecoveryCrashHook,
  // spool/recovery.h). Empty: none.
  std::function<bool(const char* step)> crash_during_open;

  // InvalidArgument naming the bad option.
  absl::Status Validate() const;
};

}  // namespace tern::spool
