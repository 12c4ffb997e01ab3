// Record codec: builds one spool record (spool/record_format.h) in a core::ByteBuffer and
// decodes/verifies one record from bytes read back. Decoding allocates nothing and returns
// a plain enum, for the recovery scan's per-record loop.
//
//   core::ByteBuffer buf;
//   StartRecord(RecordType::kHold, queue_id, &buf);   // 32-byte header placeholder
//   buf.Append(payload);
//   FinishRecord(&buf);                               // length + crc filled in
//
//   RecordView record;
//   switch (DecodeRecord(bytes, &record)) { case DecodeResult::kOk: ... }
#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "core/byte_buffer.h"
#include "spool/record_format.h"

namespace tern::spool {

// Appends a header placeholder for a record of `type` to `buf`, which must be empty (one
// record per buffer: the group commit writes buffers as they are).
void StartRecord(RecordType type, uint64_t queue_id, core::ByteBuffer* buf);

// Fills in the payload length (everything after the header) and the checksum. The payload
// must not exceed kRecordPayloadBytesMax (CHECKed: callers bound what they accept).
void FinishRecord(core::ByteBuffer* buf);

enum class DecodeResult {
  kOk,         // a whole record whose checksum verifies
  kEndOfData,  // zero magic and type 0: preallocated space, nothing more in this segment
  kTruncated,  // the header or payload runs past the end of `bytes`
  kCorrupt,    // bad magic, unknown type, impossible length, or checksum mismatch
};

struct RecordView {
  RecordType type = RecordType::kZero;
  uint64_t queue_id = 0;
  uint64_t flags = 0;
  absl::string_view payload;  // points into the decoded bytes
  size_t record_bytes = 0;    // header + payload
};

// Decodes the record at the start of `bytes`. On kOk fills `out`; otherwise leaves it alone.
DecodeResult DecodeRecord(absl::string_view bytes, RecordView* out);

const char* DecodeResultName(DecodeResult result);

}  // namespace tern::spool
