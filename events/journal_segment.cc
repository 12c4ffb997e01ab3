// Segment file records of the event journal: encoding and scanning (events/journal_segment.h).
#include "events/journal_segment.h"

#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/check.h"

namespace tern::events {
namespace {

constexpr int kSegmentNameDigits = 20;
// Reads ahead this much, so that small records cost one pread per chunk, not two each.
constexpr size_t kScanChunkBytes = size_t{1} << 20;
static_assert(kScanChunkBytes >= kJournalRecordBytesMax);

uint32_t Crc(absl::string_view bytes) {
  return static_cast<uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size())));
}

template <typename T>
T Load(const char* bytes) {
  T value;
  std::memcpy(&value, bytes, sizeof(T));
  return value;
}

}  // namespace

std::string SegmentPath(absl::string_view directory, uint64_t first_sequence) {
  return absl::StrFormat("%s/%020u%s", directory, first_sequence, kSegmentSuffix);
}

uint64_t SegmentFirstSequence(absl::string_view name) {
  if (name.size() != kSegmentNameDigits + kSegmentSuffix.size()) return 0;
  if (!absl::EndsWith(name, kSegmentSuffix)) return 0;
  absl::string_view digits = name.substr(0, kSegmentNameDigits);
  for (char c : digits) {
    if (!absl::ascii_isdigit(c)) return 0;
  }
  uint64_t sequence = 0;
  if (!absl::SimpleAtoi(digits, &sequence)) return 0;
  return sequence;
}

void AppendJournalRecord(uint64_t sequence, absl::string_view payload, std::string* out) {
  CHECK_LE(payload.size(), kEventBytesMax);
  size_t start = out->size();
  out->resize(start + kJournalRecordHeaderBytes);
  out->append(payload.data(), payload.size());
  char* header = out->data() + start;
  uint32_t length = static_cast<uint32_t>(payload.size());
  std::memcpy(header + kJournalRecordLengthOffset, &length, sizeof(length));
  std::memcpy(header + kJournalRecordSequenceOffset, &sequence, sizeof(sequence));
  uint32_t crc = Crc(
      absl::string_view(header + kJournalRecordSequenceOffset, sizeof(sequence) + payload.size()));
  std::memcpy(header + kJournalRecordCrcOffset, &crc, sizeof(crc));
}

bool SegmentScanner::Fill(size_t bytes) {
  uint64_t buffer_end = buffer_offset_ + buffer_.size();
  if (offset_ >= buffer_offset_ && offset_ + bytes <= buffer_end) return true;
  // Keep nothing: reread from offset_ a chunk that holds `bytes` (bounded by end_).
  size_t want =
      static_cast<size_t>(std::min<uint64_t>(std::max(bytes, kScanChunkBytes), end_ - offset_));
  buffer_.resize(want);
  buffer_offset_ = offset_;
  size_t have = 0;
  while (have < want) {
    ssize_t n =
        ::pread(fd_, buffer_.data() + have, want - have, static_cast<off_t>(offset_ + have));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error_ = absl::StrCat("pread: ", std::strerror(errno));
      buffer_.clear();
      return false;
    }
    if (n == 0) break;  // the file is shorter than `end`: what is there is all there is
    have += static_cast<size_t>(n);
  }
  buffer_.resize(have);
  return true;
}

SegmentScanner::Step SegmentScanner::Next() {
  if (offset_ >= end_) return Step::kEnd;
  if (end_ - offset_ < kJournalRecordHeaderBytes) return Step::kTorn;
  if (!Fill(kJournalRecordHeaderBytes)) return Step::kIoError;
  if (buffer_offset_ + buffer_.size() < offset_ + kJournalRecordHeaderBytes) return Step::kTorn;
  const char* header = buffer_.data() + (offset_ - buffer_offset_);
  // A zero header is where a prefilled segment's data ends (no record has length 0).
  if (std::all_of(header, header + kJournalRecordHeaderBytes, [](char c) { return c == 0; })) {
    return Step::kEnd;
  }
  uint32_t length = Load<uint32_t>(header + kJournalRecordLengthOffset);
  if (length > kEventBytesMax) return Step::kCorrupt;  // no writer ever wrote it
  uint64_t record_bytes = kJournalRecordHeaderBytes + length;
  if (end_ - offset_ < record_bytes) return Step::kTorn;
  if (!Fill(record_bytes)) return Step::kIoError;
  if (buffer_offset_ + buffer_.size() < offset_ + record_bytes) return Step::kTorn;
  header = buffer_.data() + (offset_ - buffer_offset_);
  uint32_t crc = Load<uint32_t>(header + kJournalRecordCrcOffset);
  absl::string_view covered(header + kJournalRecordSequenceOffset, sizeof(uint64_t) + length);
  if (Crc(covered) != crc) {
    // The last record's checksum failing is a torn write; one with data after it is not.
    return offset_ + record_bytes == end_ ? Step::kTorn : Step::kCorrupt;
  }
  sequence_ = Load<uint64_t>(header + kJournalRecordSequenceOffset);
  payload_ = absl::string_view(header + kJournalRecordHeaderBytes, length);
  record_offset_ = offset_;
  offset_ += record_bytes;
  return Step::kRecord;
}

}  // namespace tern::events
