// The event journal's segment files: their record format, encoding one record, and scanning
// the records of a file in order (recovery and reading both use SegmentScanner).
//
// Files (in the journal's directory)
// -----
//   <first sequence, 20 decimal digits>.evj   a segment; its first record has that sequence
//   cursor                                    the acknowledged sequence (journal_cursor.h)
//
// Record
// ------
//   +----------------+----------------+------------------+------------------------+
//   | payload length | crc32          | sequence         | payload (events/event.h |
//   | u32            | u32            | u64              | binary encoding)        |
//   +----------------+----------------+------------------+------------------------+
//   0                4                8                  16
//
//   Little-endian. crc32 is zlib's CRC-32 of bytes [8, 16 + length): the sequence and the
//   payload. Sequences start at 1 and grow by one per event across segments; a gap only
//   where a segment was dropped or corruption skipped. Records are written back to back
//   from offset 0 and never rewritten. A new segment is zero-filled to its full size first
//   (JournalOptions::prefill), so that a group commit's fdatasync writes the data alone,
//   not the inode of a growing file; the data ends at the first all-zero header (no record
//   has length 0). A crash leaves at most a torn last write, which recovery cuts.
//
//   ASSIGN_OR_RETURN(int fd, OpenForReading(path));
//   SegmentScanner scanner(fd, 0, file_bytes);
//   while (scanner.Next() == SegmentScanner::Step::kRecord) Use(scanner.sequence(),
//   scanner.payload());
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "events/event.h"

namespace tern::events {

inline constexpr size_t kJournalRecordHeaderBytes = 16;
inline constexpr size_t kJournalRecordLengthOffset = 0;
inline constexpr size_t kJournalRecordCrcOffset = 4;
inline constexpr size_t kJournalRecordSequenceOffset = 8;
inline constexpr size_t kJournalRecordBytesMax = kJournalRecordHeaderBytes + kEventBytesMax;
static_assert(kJournalRecordSequenceOffset + sizeof(uint64_t) == kJournalRecordHeaderBytes);
static_assert(kJournalRecordCrcOffset + sizeof(uint32_t) == kJournalRecordSequenceOffset);

inline constexpr absl::string_view kSegmentSuffix = ".evj";

// "<dir>/00000000000000000042.evj"
std::string SegmentPath(absl::string_view directory, uint64_t first_sequence);
// The first sequence of a segment file's name, or 0 when `name` is not a segment's.
uint64_t SegmentFirstSequence(absl::string_view name);

// Appends one record: header + `payload` (an encoded event, at most kEventBytesMax).
void AppendJournalRecord(uint64_t sequence, absl::string_view payload, std::string* out);

class SegmentScanner {
 public:
  enum class Step {
    kRecord,   // sequence(), payload() and record_offset() describe the next record
    kEnd,      // the data ends exactly at `end`, or at an all-zero header (offset() there)
    kTorn,     // an incomplete record runs into `end` (a torn write)
    kCorrupt,  // a complete record fails its checksum or its length is impossible
    kIoError,  // pread failed (error() says how)
  };
  // Scans [offset, end) of the open file `fd` (not owned).
  SegmentScanner(int fd, uint64_t offset, uint64_t end) : fd_(fd), offset_(offset), end_(end) {}

  Step Next();
  uint64_t sequence() const { return sequence_; }
  absl::string_view payload() const { return payload_; }
  // Where the last record returned starts; offset(): where the next one starts.
  uint64_t record_offset() const { return record_offset_; }
  uint64_t offset() const { return offset_; }
  const std::string& error() const { return error_; }

 private:
  // Makes [offset_, offset_ + bytes) available in buffer_; false on an I/O error.
  bool Fill(size_t bytes);

  int fd_;
  uint64_t offset_;
  uint64_t end_;
  uint64_t record_offset_ = 0;
  uint64_t sequence_ = 0;
  absl::string_view payload_;
  std::string buffer_;  // file bytes from buffer_offset_
  uint64_t buffer_offset_ = 0;
  std::string error_;
};

}  // namespace tern::events
