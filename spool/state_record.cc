// State record payload encoding and validation (layout: spool/state_record.h).
#include "spool/state_record.h"

#include <algorithm>
#include <cstring>

#include "core/check.h"
#include "core/utf8.h"
#include "spool/little_endian.h"
#include "spool/record_codec.h"

namespace tern::spool {
namespace {

// Remote text cut to fit, on a UTF-8 character boundary (it is shown as JSON by /message).
absl::string_view Bounded(absl::string_view s, size_t max) { return core::Utf8Prefix(s, max); }

void PutStr8(core::ByteBuffer* buf, absl::string_view s) {
  DCHECK(s.size() <= UINT8_MAX);
  *buf->Extend(1) = static_cast<char>(s.size());
  buf->Append(s);
}

void PutStr16(core::ByteBuffer* buf, absl::string_view s) {
  DCHECK(s.size() <= UINT16_MAX);
  StoreLE16(buf->Extend(2), static_cast<uint16_t>(s.size()));
  buf->Append(s);
}

bool GetStr8(absl::string_view* rest, size_t max, absl::string_view* out) {
  if (rest->empty()) return false;
  const size_t n = static_cast<uint8_t>((*rest)[0]);
  if (n > max || rest->size() - 1 < n) return false;
  *out = rest->substr(1, n);
  rest->remove_prefix(1 + n);
  return true;
}

bool GetStr16(absl::string_view* rest, size_t max, absl::string_view* out) {
  if (rest->size() < 2) return false;
  const size_t n = LoadLE16(rest->data());
  if (n > max || rest->size() - 2 < n) return false;
  *out = rest->substr(2, n);
  rest->remove_prefix(2 + n);
  return true;
}

}  // namespace

RecordType RecordTypeOfResult(RecipientState state) {
  switch (state) {
    case RecipientState::kDelivered:
      return RecordType::kDelivered;
    case RecipientState::kDeferred:
      return RecordType::kDeferred;
    case RecipientState::kBounced:
      return RecordType::kBounced;
    case RecipientState::kExpired:
      return RecordType::kExpired;
    case RecipientState::kDeleted:
      return RecordType::kDeleted;
    case RecipientState::kPending:
      break;
  }
  CHECK(false);
  return RecordType::kZero;
}

bool ResultStateOfRecordType(RecordType type, RecipientState* state) {
  switch (type) {
    case RecordType::kDelivered:
      *state = RecipientState::kDelivered;
      return true;
    case RecordType::kDeferred:
      *state = RecipientState::kDeferred;
      return true;
    case RecordType::kBounced:
      *state = RecipientState::kBounced;
      return true;
    case RecordType::kExpired:
      *state = RecipientState::kExpired;
      return true;
    case RecordType::kDeleted:
      *state = RecipientState::kDeleted;
      return true;
    default:
      return false;
  }
}

void EncodeRecipientResult(uint64_t queue_id, const RecipientResult& result,
                           core::ByteBuffer* record) {
  const RecordType type = RecordTypeOfResult(result.state);
  const absl::string_view enhanced = Bounded(result.enhanced_code, kEnhancedCodeBytesMax);
  const absl::string_view host = Bounded(result.destination_host, kDestinationHostBytesMax);
  const absl::string_view text = Bounded(result.reply_text, kReplyTextBytesMax);
  record->Reserve(kRecordHeaderBytes + kRecipientResultFixedBytes + 4 + enhanced.size() +
                  host.size() + text.size());
  StartRecord(type, queue_id, record);
  char* fixed = record->Extend(kRecipientResultFixedBytes);
  fixed[0] = static_cast<char>(kStateRecordVersion);
  fixed[1] = 0;
  StoreLE16(fixed + 2, result.reply_code);
  StoreLE32(fixed + 4, result.recipient);
  StoreLE32(fixed + 8, result.attempts);
  const int64_t next = result.state == RecipientState::kDeferred ? result.next_attempt_unix_us : 0;
  StoreLE64(fixed + 12, static_cast<uint64_t>(next));
  PutStr8(record, enhanced);
  PutStr8(record, host);
  PutStr16(record, text);
  CHECK_LE(record->size() - kRecordHeaderBytes, kRecipientResultPayloadBytesMax);
  FinishRecord(record);
}

bool DecodeRecipientResult(RecordType type, absl::string_view payload, RecipientResultView* out) {
  RecipientResultView r;
  if (!ResultStateOfRecordType(type, &r.state)) return false;
  if (payload.size() < kRecipientResultFixedBytes) return false;
  if (static_cast<uint8_t>(payload[0]) != kStateRecordVersion || payload[1] != 0) return false;
  r.reply_code = LoadLE16(payload.data() + 2);
  r.recipient = LoadLE32(payload.data() + 4);
  r.attempts = LoadLE32(payload.data() + 8);
  r.next_attempt_unix_us = static_cast<int64_t>(LoadLE64(payload.data() + 12));
  absl::string_view rest = payload.substr(kRecipientResultFixedBytes);
  if (!GetStr8(&rest, kEnhancedCodeBytesMax, &r.enhanced_code) ||
      !GetStr8(&rest, kDestinationHostBytesMax, &r.destination_host) ||
      !GetStr16(&rest, kReplyTextBytesMax, &r.reply_text) || !rest.empty()) {
    return false;
  }
  *out = r;
  return true;
}

void EncodeHold(uint64_t queue_id, bool held, int64_t at_unix_us, core::ByteBuffer* record,
                int64_t until_unix_us) {
  CHECK_GE(until_unix_us, 0);
  CHECK(held || until_unix_us == 0);
  const bool timed = until_unix_us > 0;
  const size_t bytes = timed ? kTimedHoldPayloadBytes : kHoldPayloadBytes;
  StartRecord(held ? RecordType::kHold : RecordType::kRelease, queue_id, record);
  char* p = record->Extend(bytes);
  std::memset(p, 0, bytes);
  p[0] = static_cast<char>(timed ? kTimedHoldVersion : kStateRecordVersion);
  StoreLE64(p + 8, static_cast<uint64_t>(at_unix_us));
  if (timed) StoreLE64(p + 16, static_cast<uint64_t>(until_unix_us));
  FinishRecord(record);
}

bool DecodeHold(RecordType type, absl::string_view payload, bool* held, int64_t* at_unix_us,
                int64_t* until_unix_us) {
  if (type != RecordType::kHold && type != RecordType::kRelease) return false;
  const uint8_t version = payload.empty() ? 0 : static_cast<uint8_t>(payload[0]);
  int64_t until = 0;
  if (version == kStateRecordVersion) {
    if (payload.size() != kHoldPayloadBytes) return false;
  } else if (version == kTimedHoldVersion) {
    if (payload.size() != kTimedHoldPayloadBytes || type != RecordType::kHold) return false;
    until = static_cast<int64_t>(LoadLE64(payload.data() + 16));
    if (until <= 0) return false;
  } else {
    return false;
  }
  for (size_t i = 1; i < 8; ++i) {
    if (payload[i] != 0) return false;
  }
  *held = type == RecordType::kHold;
  *at_unix_us = static_cast<int64_t>(LoadLE64(payload.data() + 8));
  if (until_unix_us != nullptr) *until_unix_us = until;
  return true;
}

}  // namespace tern::spool
