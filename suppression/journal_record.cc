// The suppression journal's record codec (suppression/journal_record.h).
#include "suppression/journal_record.h"

#include <zlib.h>

#include <algorithm>

#include "core/check.h"
#include "core/little_endian.h"

namespace tern::suppression {
namespace {

using core::LoadLE16;
using core::LoadLE32;
using core::LoadLE64;
using core::StoreLE16;
using core::StoreLE32;
using core::StoreLE64;

uint32_t Crc32(absl::string_view bytes) {
  return static_cast<uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size())));
}

}  // namespace

void AppendJournalRecord(const JournalRecord& record, std::string* out) {
  const Entry& e = record.entry;
  CHECK(ValidateEntry(e).ok());
  const size_t start = out->size();
  const bool add = record.type == JournalRecordType::kAdd;
  const size_t payload_bytes =
      add ? kAddFixedBytes + e.scope.size() + e.target.size() + e.event.size()
          : kRemoveFixedBytes + e.scope.size() + e.target.size();
  CHECK_LE(payload_bytes, kJournalPayloadBytesMax);
  out->resize(start + kJournalHeaderBytes + payload_bytes, '\0');
  char* header = out->data() + start;
  StoreLE32(header, kJournalRecordMagic);
  StoreLE16(header + kJournalLengthOffset, static_cast<uint16_t>(payload_bytes));
  header[kJournalTypeOffset] = static_cast<char>(record.type);
  char* payload = header + kJournalHeaderBytes;
  char* bytes;
  if (add) {
    payload[0] = static_cast<char>(e.reason);
    payload[1] = static_cast<char>(e.scope.size());
    payload[2] = static_cast<char>(e.target.size());
    StoreLE16(payload + 4, static_cast<uint16_t>(e.event.size()));
    StoreLE64(payload + 8, static_cast<uint64_t>(e.created));
    StoreLE64(payload + 16, static_cast<uint64_t>(e.expires));
    bytes = payload + kAddFixedBytes;
  } else {
    payload[0] = static_cast<char>(e.scope.size());
    payload[1] = static_cast<char>(e.target.size());
    bytes = payload + kRemoveFixedBytes;
  }
  bytes = std::copy(e.scope.begin(), e.scope.end(), bytes);
  bytes = std::copy(e.target.begin(), e.target.end(), bytes);
  if (add) std::copy(e.event.begin(), e.event.end(), bytes);
  StoreLE32(
      header + kJournalCrcOffset,
      Crc32(absl::string_view(header + kJournalCrcCoveredOffset,
                              kJournalHeaderBytes - kJournalCrcCoveredOffset + payload_bytes)));
}

DecodeResult DecodeJournalRecord(absl::string_view bytes, JournalRecord* record,
                                 size_t* record_bytes) {
  if (bytes.size() < kJournalHeaderBytes) {
    // A short header is torn only if what is there could start a record.
    const size_t n = std::min(bytes.size(), size_t{4});
    char magic[4];
    StoreLE32(magic, kJournalRecordMagic);
    return bytes.substr(0, n) == absl::string_view(magic, n) ? DecodeResult::kTruncated
                                                             : DecodeResult::kCorrupt;
  }
  if (LoadLE32(bytes.data()) != kJournalRecordMagic) return DecodeResult::kCorrupt;
  const size_t payload_bytes = LoadLE16(bytes.data() + kJournalLengthOffset);
  const auto type = static_cast<uint8_t>(bytes[kJournalTypeOffset]);
  if (payload_bytes > kJournalPayloadBytesMax || bytes[kJournalTypeOffset + 1] != 0 ||
      (type != static_cast<uint8_t>(JournalRecordType::kAdd) &&
       type != static_cast<uint8_t>(JournalRecordType::kRemove))) {
    return DecodeResult::kCorrupt;
  }
  if (bytes.size() < kJournalHeaderBytes + payload_bytes) return DecodeResult::kTruncated;
  const absl::string_view covered = bytes.substr(
      kJournalCrcCoveredOffset, kJournalHeaderBytes - kJournalCrcCoveredOffset + payload_bytes);
  if (Crc32(covered) != LoadLE32(bytes.data() + kJournalCrcOffset)) return DecodeResult::kCorrupt;

  const char* payload = bytes.data() + kJournalHeaderBytes;
  JournalRecord out;
  out.type = static_cast<JournalRecordType>(type);
  size_t scope_bytes;
  size_t target_bytes;
  size_t event_bytes = 0;
  size_t fixed;
  if (out.type == JournalRecordType::kAdd) {
    if (payload_bytes < kAddFixedBytes || payload[3] != 0 || LoadLE16(payload + 6) != 0) {
      return DecodeResult::kCorrupt;
    }
    const auto reason = static_cast<uint8_t>(payload[0]);
    if (!IsKnownReason(reason)) return DecodeResult::kCorrupt;
    out.entry.reason = static_cast<Reason>(reason);
    scope_bytes = static_cast<uint8_t>(payload[1]);
    target_bytes = static_cast<uint8_t>(payload[2]);
    event_bytes = LoadLE16(payload + 4);
    const uint64_t created = LoadLE64(payload + 8);
    const uint64_t expires = LoadLE64(payload + 16);
    if (created > static_cast<uint64_t>(kTimeMax) || expires > static_cast<uint64_t>(kTimeMax)) {
      return DecodeResult::kCorrupt;
    }
    out.entry.created = static_cast<int64_t>(created);
    out.entry.expires = static_cast<int64_t>(expires);
    fixed = kAddFixedBytes;
  } else {
    if (payload_bytes < kRemoveFixedBytes) return DecodeResult::kCorrupt;
    scope_bytes = static_cast<uint8_t>(payload[0]);
    target_bytes = static_cast<uint8_t>(payload[1]);
    fixed = kRemoveFixedBytes;
  }
  if (fixed + scope_bytes + target_bytes + event_bytes != payload_bytes) {
    return DecodeResult::kCorrupt;
  }
  const char* p = payload + fixed;
  out.entry.scope.assign(p, scope_bytes);
  out.entry.target.assign(p + scope_bytes, target_bytes);
  out.entry.event.assign(p + scope_bytes + target_bytes, event_bytes);
  if (!ValidateEntry(out.entry).ok()) return DecodeResult::kCorrupt;
  *record = std::move(out);
  *record_bytes = kJournalHeaderBytes + payload_bytes;
  return DecodeResult::kOk;
}

}  // namespace tern::suppression
