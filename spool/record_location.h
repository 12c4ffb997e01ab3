// RecordLocation: where a record lives in a shard's spool (segment number, byte offset,
// record length), as reported by the group commit and kept in the queue index.
#pragma once

#include <cstdint>

namespace tern::spool {

struct RecordLocation {
  uint64_t segment = 0;
  uint64_t offset = 0;
  uint32_t record_bytes = 0;
  bool operator==(const RecordLocation&) const = default;
};

}  // namespace tern::spool
