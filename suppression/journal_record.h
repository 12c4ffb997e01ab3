// The suppression journal's file format, and the codec of its records.
//
// File
// ----
//   <dir>/suppression.journal       the journal: kJournalFileMagic, then records
//   <dir>/suppression.journal.tmp   a compaction in progress (deleted at open: the journal
//                                   beside it is still whole)
//
// Records are appended back to back after the 8-byte file magic and never rewritten;
// compaction writes the live set to the temp file and renames it over the journal.
//
// Record
// ------
//   +-------+-------+--------+------+------+-----------------+
//   | magic | crc32 | length | type | zero | payload         |
//   | u32   | u32   | u16    | u8   | u8   | `length` bytes  |
//   +-------+-------+--------+------+------+-----------------+
//   0       4       8        10     11     12
//
//   Integers little-endian. crc32 is zlib's (IEEE 802.3) over bytes [8, 12 + length): the
//   rest of the header and the payload. Types: 1 = ADD, 2 = REMOVE (0 is never written).
//
//   ADD payload                               REMOVE payload
//   0  reason u8                              0  scope length u8
//   1  scope length u8                        1  target length u8
//   2  target length u8                       2  scope bytes, target bytes
//   3  zero u8
//   4  event length u16
//   6  zero u16
//   8  created u64 (unix seconds)
//   16 expires u64 (unix seconds, 0 = never)
//   24 scope bytes, target bytes, event bytes
//
// A decoded record must also be a valid entry (suppression/entry.h: normalised, within the
// limits); one that is not is corrupt, exactly like a checksum mismatch.
//
// Recovery (suppression/suppression_journal.h): records are replayed in order. At the first
// record that is short or corrupt, the rest of the file is searched for a valid record at
// any byte offset: if there is one, the damage is in the middle (an error naming the file
// and the offset: entries are never silently dropped); if there is none, it is a torn tail
// (a crash mid-append) and the file is cut there.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "suppression/entry.h"

namespace tern::suppression {

inline constexpr absl::string_view kJournalFileMagic = "TSUPJ001";
inline constexpr uint32_t kJournalRecordMagic = 0x4A505553;  // "SUPJ" as little-endian bytes
inline constexpr size_t kJournalHeaderBytes = 12;
inline constexpr size_t kJournalCrcOffset = 4;
inline constexpr size_t kJournalLengthOffset = 8;
inline constexpr size_t kJournalTypeOffset = 10;
inline constexpr size_t kJournalCrcCoveredOffset = 8;
inline constexpr size_t kAddFixedBytes = 24;
inline constexpr size_t kRemoveFixedBytes = 2;
inline constexpr size_t kJournalPayloadBytesMax =
    kAddFixedBytes + kDomainBytesMax + kDomainBytesMax + kEventBytesMax;
static_assert(kJournalLengthOffset + 2 == kJournalTypeOffset);
static_assert(kJournalTypeOffset + 2 == kJournalHeaderBytes, "type + one zero byte");
static_assert(kJournalCrcOffset + 4 == kJournalCrcCoveredOffset);
static_assert(kJournalPayloadBytesMax <= UINT16_MAX, "payload length is a u16");

enum class JournalRecordType : uint8_t { kAdd = 1, kRemove = 2 };

// One journal record: ADD carries the whole entry, REMOVE only its scope and target.
struct JournalRecord {
  JournalRecordType type = JournalRecordType::kAdd;
  Entry entry;
};

// Appends the encoded record to `out`. The entry must be valid (CHECKed).
void AppendJournalRecord(const JournalRecord& record, std::string* out);

enum class DecodeResult {
  kOk,         // *record and *record_bytes are set
  kTruncated,  // `bytes` ends inside the record
  kCorrupt,    // bad magic, length, type, checksum or entry
};
// Decodes the record at the start of `bytes`.
DecodeResult DecodeJournalRecord(absl::string_view bytes, JournalRecord* record,
                                 size_t* record_bytes);

}  // namespace tern::suppression
