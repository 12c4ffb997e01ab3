// Names and listing of a shard's spool files (format: spool/record_format.h).
//
//   std::string dir = ShardDirectory("/var/spool/tern", 3);        // ".../shard-3"
//   std::string path = SegmentPath(dir, 12);                        // ".../00000012.seg"
//   ASSIGN_OR_RETURN(std::vector<uint64_t> numbers, ListSegments(dir));  // ascending
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tern::spool {

std::string ShardDirectory(absl::string_view spool_dir, int shard_id);
std::string QuarantineDirectory(absl::string_view shard_dir);
std::string SegmentFileName(uint64_t segment);
std::string SegmentPath(absl::string_view shard_dir, uint64_t segment);
// "00000012.seg" -> 12; anything else -> nullopt.
std::optional<uint64_t> ParseSegmentFileName(absl::string_view name);

// The segment numbers found in `shard_dir`, ascending. Other files are ignored.
absl::StatusOr<std::vector<uint64_t>> ListSegments(const std::string& shard_dir);

// mkdir if missing (the parent must exist), then fsync the parent so the entry is durable.
absl::Status MakeDirectoryDurable(const std::string& path);
// fsync a directory (after creating, renaming or removing entries in it).
absl::Status SyncDirectory(const std::string& path);

}  // namespace tern::spool
