// JournalCursor: the event journal's acknowledged position, kept durably in a small file:
// every event with a sequence at or below it was acknowledged by the webhook receiver.
// Stored by replacing the file atomically: write "cursor.tmp", fdatasync, rename over
// "cursor", fsync the directory; so a crash leaves the old cursor or the new one, never a mix.
//
//   ASSIGN_OR_RETURN(uint64_t acknowledged, LoadJournalCursor(dir));  // 0 when none yet
//   RETURN_IF_ERROR(StoreJournalCursor(dir, last_sequence_posted));
//
// File: "TERNEVC1" (8 bytes), the sequence (u64), crc32 of those 16 bytes (u32); little-endian.
#pragma once

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tern::events {

// The stored sequence; 0 when there is no cursor file. A damaged file (which the atomic
// replacement should make impossible) is DataLoss: the journal then starts from 0 and sends
// its whole backlog again (at least once, never lost).
absl::StatusOr<uint64_t> LoadJournalCursor(absl::string_view directory);
absl::Status StoreJournalCursor(absl::string_view directory, uint64_t sequence);

// A failed system call as a Status naming the call, the file and errno.
absl::Status JournalErrnoStatus(absl::string_view call, absl::string_view file, int err);
// fsync of a directory (after creating, renaming or removing an entry in it).
absl::Status SyncDirectory(absl::string_view directory);

}  // namespace tern::events
