// The on-disk format of a shard's spool: segment files of typed, checksummed records.
//
// Files
// -----
//   <spool_dir>/shard-<N>/<NNNNNNNN>.seg   segment number: 8 decimal digits, increasing
//   <spool_dir>/shard-<N>/quarantine/      corrupt byte ranges cut out by recovery
//
// A segment is created and preallocated (fallocate) to `segment_bytes` before its first
// record is written, so the space after the last record reads as zeros. Records are written
// back to back from offset 0, never across a segment boundary, and never rewritten. A
// segment left by an earlier run is read-only: after a restart appends go to a new segment.
//
// Record
// ------
//   +---------+---------+---------+------+----------+----------+----------+---------------+
//   | magic   | crc32c  | payload | type | reserved | queue id | flags    | payload ...   |
//   | u32     | u32     | length  | u8   | 3 bytes  | u64      | 8 bytes  | `length`      |
//   |         |         | u32     |      | (zero)   |          | (zero)   | bytes         |
//   +---------+---------+---------+------+----------+----------+----------+---------------+
//   0         4         8         12     13         16         24         32
//
//   All integers little-endian. magic is kRecordMagic (never zero). crc32c (Castagnoli) covers
//   header bytes [8, 32) and the payload, i.e. everything after the crc field; it is stored
//   as is (not masked: the payload is never itself a spool record checksummed again).
//
// End of data: a header whose magic and type are both zero is preallocated space: the
// segment's data ends there (type 0 is reserved for this, as in RocksDB's log format).
// Fewer than kRecordHeaderBytes left in the segment also ends it.
//
// Types (RecordType): MESSAGE holds envelope + body (spool/message_record.h).
// DELIVERED / DEFERRED / BOUNCED / EXPIRED / DELETED hold one recipient's result (recipient
// index, attempts, next attempt, remote reply, destination host) and HOLD / RELEASE a
// message's hold flag; their payloads are laid out in spool/state_record.h.
// A reader treats an unknown type as corruption, so a new type needs a format change here.
//
// Folding (recovery, in segment order): the latest MESSAGE record of a queue id is the
// message, with the recipient states and schedule embedded in its envelope as the base;
// state records after it update it; a message whose every recipient is DELIVERED, BOUNCED
// or EXPIRED is finished and leaves the index. A state record for an unknown (or finished)
// id is counted and ignored. Garbage collection (spool/segment_gc.h) relies on this order:
// it deletes segments oldest first (a state record is dropped only with every older copy
// of its message) and copies a live message forward as a new MESSAGE record whose envelope
// carries the folded states, so either copy is complete on its own.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tern::spool {

// "TERN" read as little-endian bytes 'T','E','R','N' on disk.
inline constexpr uint32_t kRecordMagic = 0x4E524554;

inline constexpr size_t kRecordHeaderBytes = 32;
inline constexpr size_t kRecordCrcOffset = 4;
inline constexpr size_t kRecordLengthOffset = 8;
inline constexpr size_t kRecordTypeOffset = 12;
inline constexpr size_t kRecordQueueIdOffset = 16;
inline constexpr size_t kRecordFlagsOffset = 24;
// The checksum covers the header from here on, then the payload.
inline constexpr size_t kRecordCrcCoveredOffset = 8;

// A hard limit of the format: a header announcing a larger payload is corrupt.
inline constexpr size_t kRecordBytesMax = size_t{128} << 20;
inline constexpr size_t kRecordPayloadBytesMax = kRecordBytesMax - kRecordHeaderBytes;

// Segment geometry.
inline constexpr uint64_t kSegmentBytesDefault = uint64_t{64} << 20;
inline constexpr uint64_t kSegmentBytesMin = uint64_t{64} << 10;
// Largest segment the format allows: offsets stay well inside u32 arithmetic of tools.
inline constexpr uint64_t kSegmentBytesMax = uint64_t{1} << 31;
// Segment numbers are printed with this many decimal digits.
inline constexpr int kSegmentNumberDigits = 8;
inline constexpr uint64_t kSegmentNumberMax = 99'999'999;

enum class RecordType : uint8_t {
  kZero = 0,  // reserved: preallocated zero space, end of data
  kMessage = 1,
  kDelivered = 2,
  kDeferred = 3,
  kBounced = 4,
  kExpired = 5,
  kHold = 6,
  kRelease = 7,
  kDeleted = 8,
};
inline constexpr uint8_t kRecordTypeMax = 8;

inline bool IsKnownRecordType(uint8_t type) { return type >= 1 && type <= kRecordTypeMax; }

static_assert(kRecordMagic != 0, "a zero magic marks preallocated space");
static_assert(kRecordCrcOffset + 4 == kRecordLengthOffset);
static_assert(kRecordLengthOffset + 4 == kRecordTypeOffset);
static_assert(kRecordTypeOffset + 4 == kRecordQueueIdOffset, "type + 3 reserved bytes");
static_assert(kRecordQueueIdOffset + 8 == kRecordFlagsOffset);
static_assert(kRecordFlagsOffset + 8 == kRecordHeaderBytes);
static_assert(kRecordCrcCoveredOffset == kRecordCrcOffset + 4);
static_assert(kRecordPayloadBytesMax <= UINT32_MAX, "payload length is a u32");
static_assert(kSegmentBytesMin >= kRecordHeaderBytes);
static_assert(kSegmentBytesDefault >= kSegmentBytesMin && kSegmentBytesDefault <= kSegmentBytesMax);
static_assert(kSegmentBytesMax >= kRecordBytesMax, "a segment can hold the largest record");
static_assert(static_cast<uint8_t>(RecordType::kZero) == 0);
static_assert(static_cast<uint8_t>(RecordType::kDeleted) == kRecordTypeMax);

}  // namespace tern::spool
