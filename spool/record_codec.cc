// Record header encoding and verification (format: spool/record_format.h).
#include "spool/record_codec.h"

#include <cstring>

#include "core/check.h"
#include "spool/crc32c.h"
#include "spool/little_endian.h"

namespace tern::spool {

void StartRecord(RecordType type, uint64_t queue_id, core::ByteBuffer* buf) {
  CHECK(buf->empty());
  CHECK_NE(static_cast<uint8_t>(type), 0);
  char* h = buf->Extend(kRecordHeaderBytes);
  std::memset(h, 0, kRecordHeaderBytes);
  StoreLE32(h, kRecordMagic);
  h[kRecordTypeOffset] = static_cast<char>(type);
  StoreLE64(h + kRecordQueueIdOffset, queue_id);
}

void FinishRecord(core::ByteBuffer* buf) {
  CHECK_GE(buf->size(), kRecordHeaderBytes);
  const size_t payload_bytes = buf->size() - kRecordHeaderBytes;
  CHECK_LE(payload_bytes, kRecordPayloadBytesMax);
  char* h = buf->data();
  CHECK_EQ(LoadLE32(h), kRecordMagic);
  CHECK(IsKnownRecordType(static_cast<uint8_t>(h[kRecordTypeOffset])));
  StoreLE32(h + kRecordLengthOffset, static_cast<uint32_t>(payload_bytes));
  const uint32_t crc =
      crc32c::Value(h + kRecordCrcCoveredOffset, buf->size() - kRecordCrcCoveredOffset);
  StoreLE32(h + kRecordCrcOffset, crc);
}

DecodeResult DecodeRecord(absl::string_view bytes, RecordView* out) {
  if (bytes.size() < kRecordHeaderBytes) {
    // A partial header of zeros is still preallocated space (end of a segment).
    for (char c : bytes) {
      if (c != 0) return DecodeResult::kTruncated;
    }
    return DecodeResult::kEndOfData;
  }
  const char* h = bytes.data();
  const uint32_t magic = LoadLE32(h);
  const uint8_t type = static_cast<uint8_t>(h[kRecordTypeOffset]);
  if (magic == 0 && type == 0) return DecodeResult::kEndOfData;
  if (magic != kRecordMagic || !IsKnownRecordType(type)) return DecodeResult::kCorrupt;
  const uint32_t payload_bytes = LoadLE32(h + kRecordLengthOffset);
  if (payload_bytes > kRecordPayloadBytesMax) return DecodeResult::kCorrupt;
  const size_t record_bytes = kRecordHeaderBytes + payload_bytes;
  if (record_bytes > bytes.size()) return DecodeResult::kTruncated;
  const uint32_t crc =
      crc32c::Value(h + kRecordCrcCoveredOffset, record_bytes - kRecordCrcCoveredOffset);
  if (crc != LoadLE32(h + kRecordCrcOffset)) return DecodeResult::kCorrupt;
  out->type = static_cast<RecordType>(type);
  out->queue_id = LoadLE64(h + kRecordQueueIdOffset);
  out->flags = LoadLE64(h + kRecordFlagsOffset);
  out->payload = bytes.substr(kRecordHeaderBytes, payload_bytes);
  out->record_bytes = record_bytes;
  return DecodeResult::kOk;
}

const char* DecodeResultName(DecodeResult result) {
  switch (result) {
    case DecodeResult::kOk:
      return "ok";
    case DecodeResult::kEndOfData:
      return "end of data";
    case DecodeResult::kTruncated:
      return "truncated";
    case DecodeResult::kCorrupt:
      return "corrupt";
  }
  return "?";
}

}  // namespace tern::spool
