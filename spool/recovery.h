// Recovery: at shard start-up, scans every segment of the shard in order, verifies each
// record, and rebuilds the QueueIndex. Blocking I/O (pread, ftruncate); run it before the
// shard's loop starts.
//
// What it does with damage (never drops bytes silently):
//   - end of data (zero header) followed only by zeros: the segment's clean end.
//   - a bad record (or zero header) followed by no valid record in the segment: a torn
//     tail. The non-zero bytes are copied to quarantine/<segment>-<offset>.torn (file and
//     directory entry made durable first), the segment is truncated (ftruncate + fsync) at
//     the bad offset, and a warning is logged.
//   - a bad record followed by a valid one (found by trying the bad header's own length,
//     then scanning forward byte by byte for a header that verifies): corruption inside
//     the acknowledged region. The bad range is copied to quarantine/<segment>-<offset>.bad,
//     an error is logged with segment and offset, it is counted, and the scan continues.
//   - a MESSAGE record whose checksum verifies but whose envelope does not parse (a bug):
//     quarantined like a bad range, counted as malformed.
// A later MESSAGE record with the same queue id supersedes an earlier one (copy-forward):
// its embedded recipient states and schedule are the base. State records (DELIVERED...,
// HOLD / RELEASE; spool/state_record.h) are folded into their message in segment order; a
// message whose every recipient is final leaves the index (messages_finished). A state
// record for an unknown or finished id, or for a recipient index out of range, is counted
// (state_records_ignored) and ignored; one whose payload does not parse is counted as
// malformed and ignored (its checksum verified: a bug, not damage).
// The SegmentLedger gets every segment (file size, data end, state records) and the
// location of every live message's latest copy: what garbage collection needs.
//
//   QueueIndex index;
//   SegmentLedger ledger;
//   ASSIGN_OR_RETURN(RecoveryStats stats, RecoverShard(shard_dir, &index, &ledger));
//   TERN_LOG(kInfo, "spool recovered: %s", stats.ToString());
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "spool/queue_index.h"
#include "spool/segment_ledger.h"

namespace tern::spool {

struct RecoveryStats {
  uint64_t segments = 0;
  uint64_t records = 0;
  uint64_t messages = 0;                 // MESSAGE records indexed
  uint64_t state_records = 0;            // records of the other types, folded in
  uint64_t state_records_ignored = 0;    // unknown or finished id, recipient out of range
  uint64_t malformed_state_records = 0;  // checksum fine, payload not
  uint64_t messages_finished = 0;        // left the index: every recipient final
  uint64_t torn_tails_truncated = 0;
  uint64_t corrupt_ranges_quarantined = 0;
  uint64_t malformed_messages = 0;
  uint64_t bytes = 0;         // bytes of valid records
  uint64_t last_segment = 0;  // highest segment number found (0: none)
  uint64_t max_queue_id = 0;  // highest queue id in any valid record (0: none)
  std::string ToString() const;
};

// Tests only: asked before each step that changes the disk ("quarantine", "truncate", and
// in ShardSpool::Open "delete-dead-segment"); true stops right there with Aborted, as if
// the process died (what was done stays done). Empty: never asked.
using RecoveryCrashHook = std::function<bool(const char* step)>;

// Recovers every segment in `shard_dir` (which must exist) into `index`. Errors are I/O
// failures (the shard must not start); damage in the data is repaired as described above.
absl::StatusOr<RecoveryStats> RecoverShard(const std::string& shard_dir, QueueIndex* index,
                                           SegmentLedger* ledger,
                                           const RecoveryCrashHook& crash = nullptr);
// The same, without the ledger (tools and tests that only need the index).
absl::StatusOr<RecoveryStats> RecoverShard(const std::string& shard_dir, QueueIndex* index);

}  // namespace tern::spool
