// MESSAGE envelope encoding and parsing (layout: spool/message_record.h).
#include "spool/message_record.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/check.h"
#include "spool/little_endian.h"
#include "spool/record_codec.h"
#include "spool/record_format.h"

namespace tern::spool {

const char* RecipientStateName(RecipientState state) {
  switch (state) {
    case RecipientState::kPending:
      return "pending";
    case RecipientState::kDelivered:
      return "delivered";
    case RecipientState::kDeferred:
      return "deferred";
    case RecipientState::kBounced:
      return "bounced";
    case RecipientState::kExpired:
      return "expired";
    case RecipientState::kDeleted:
      return "deleted";
  }
  return "unknown";
}
namespace {

void PutStr16(core::ByteBuffer* buf, absl::string_view s) {
  DCHECK(s.size() <= kEnvelopeStringBytesMax);
  StoreLE16(buf->Extend(2), static_cast<uint16_t>(s.size()));
  buf->Append(s);
}

bool GetStr16(absl::string_view* rest, absl::string_view* out) {
  if (rest->size() < 2) return false;
  const uint16_t n = LoadLE16(rest->data());
  if (rest->size() - 2 < n) return false;
  *out = rest->substr(2, n);
  rest->remove_prefix(2 + size_t{n});
  return true;
}

bool TooLong(absl::string_view s) { return s.size() > kEnvelopeStringBytesMax; }

}  // namespace

absl::Status BeginMessageRecord(uint64_t queue_id, const MessageEnvelope& envelope,
                                core::ByteBuffer* record) {
  CHECK(record->empty());
  if (envelope.recipients.empty() || envelope.recipients.size() > kEnvelopeRecipientsMax) {
    return absl::InvalidArgumentError("message envelope: recipient count out of range");
  }
  if (TooLong(envelope.client_address) || TooLong(envelope.helo) || TooLong(envelope.sender) ||
      TooLong(envelope.envid) || envelope.pool.size() > kEnvelopePoolBytesMax) {
    return absl::InvalidArgumentError("message envelope: field too long");
  }
  size_t envelope_bytes = kEnvelopeFixedBytes + kEnvelopeScheduleBytes + 2 * 4 +
                          envelope.client_address.size() + envelope.helo.size() +
                          envelope.sender.size() + envelope.envid.size() + 4;
  const bool has_pool = !envelope.pool.empty();
  if (has_pool) envelope_bytes += 2 + envelope.pool.size();
  for (const RecipientEnvelope& r : envelope.recipients) {
    if (TooLong(r.address) || TooLong(r.orcpt)) {
      return absl::InvalidArgumentError("message envelope: recipient too long");
    }
    envelope_bytes += 2 + 2 + 2 + r.address.size() + r.orcpt.size();
  }
  // Bounded: 100k recipients * (6 + 2 * 64 KiB) stays far below 2^32... but not below the
  // record limit, so check it.
  if (envelope_bytes > kRecordPayloadBytesMax) {
    return absl::InvalidArgumentError("message envelope: too large");
  }
  record->Reserve(kRecordHeaderBytes + envelope_bytes);
  StartRecord(RecordType::kMessage, queue_id, record);
  const size_t start = record->size();
  char* fixed = record->Extend(kEnvelopeFixedBytes);
  StoreLE32(fixed, static_cast<uint32_t>(envelope_bytes));
  fixed[4] = static_cast<char>(has_pool ? kEnvelopeVersionPool : kEnvelopeVersion);
  fixed[5] = static_cast<char>(envelope.body_type);
  fixed[6] = static_cast<char>(envelope.smtputf8 ? kEnvelopeFlagSmtputf8 : 0);
  fixed[7] = static_cast<char>(envelope.dsn_ret);
  StoreLE64(fixed + 8, static_cast<uint64_t>(envelope.received_unix_us));
  char* schedule = record->Extend(kEnvelopeScheduleBytes);
  std::memset(schedule, 0, kEnvelopeScheduleBytes);
  StoreLE32(schedule, envelope.schedule.attempts);
  schedule[4] = static_cast<char>(envelope.schedule.held ? kScheduleFlagHeld : 0);
  StoreLE64(schedule + 8, static_cast<uint64_t>(envelope.schedule.next_attempt_unix_us));
  PutStr16(record, envelope.client_address);
  PutStr16(record, envelope.helo);
  PutStr16(record, envelope.sender);
  PutStr16(record, envelope.envid);
  if (has_pool) PutStr16(record, envelope.pool);
  StoreLE32(record->Extend(4), static_cast<uint32_t>(envelope.recipients.size()));
  for (const RecipientEnvelope& r : envelope.recipients) {
    char* b = record->Extend(2);
    CHECK_LE(static_cast<uint8_t>(r.state), static_cast<uint8_t>(RecipientState::kDeleted));
    b[0] = static_cast<char>(r.state);
    b[1] = static_cast<char>(r.notify);
    PutStr16(record, r.address);
    PutStr16(record, r.orcpt);
  }
  CHECK_EQ(record->size() - start, envelope_bytes);
  return absl::OkStatus();
}

absl::Status BuildMessageCopy(uint64_t queue_id, const MessageRecordView& source,
                              std::span<const RecipientState> states,
                              const MessageSchedule& schedule, core::ByteBuffer* record) {
  CHECK_EQ(states.size(), source.recipient_count());
  std::vector<RecipientEnvelope> recipients;
  recipients.reserve(states.size());
  RecipientView r;
  for (auto it = source.recipients(); it.Next(&r);) {
    recipients.push_back(
        RecipientEnvelope{r.address, r.notify, r.orcpt, states[recipients.size()]});
  }
  CHECK_EQ(recipients.size(), states.size());
  MessageEnvelope envelope;
  envelope.received_unix_us = source.received_unix_us();
  envelope.client_address = source.client_address();
  envelope.helo = source.helo();
  envelope.sender = source.sender();
  envelope.recipients = recipients;
  envelope.body_type = source.body_type();
  envelope.smtputf8 = source.smtputf8();
  envelope.dsn_ret = source.dsn_ret();
  envelope.envid = source.envid();
  envelope.pool = source.pool();
  envelope.schedule = schedule;
  const absl::Status begun = BeginMessageRecord(queue_id, envelope, record);
  if (!begun.ok()) return begun;
  if (record->size() + source.body().size() > kRecordBytesMax) {
    record->Clear();
    return absl::InvalidArgumentError("message copy: too large");
  }
  record->Append(source.body());
  FinishRecord(record);
  return absl::OkStatus();
}

absl::Status SetPendingMessagePool(core::ByteBuffer* record, absl::string_view pool) {
  CHECK(!pool.empty());
  if (pool.size() > kEnvelopePoolBytesMax) {
    return absl::InvalidArgumentError("message envelope: pool name too long");
  }
  CHECK_GE(record->size(), kRecordHeaderBytes + kEnvelopeFixedBytes + kEnvelopeScheduleBytes);
  char* envelope = record->data() + kRecordHeaderBytes;
  if (static_cast<uint8_t>(envelope[4]) != kEnvelopeVersion) {
    return absl::InvalidArgumentError("message envelope: has a pool already");
  }
  const uint32_t envelope_bytes = LoadLE32(envelope);
  CHECK_LE(kRecordHeaderBytes + size_t{envelope_bytes}, record->size());
  // Skip the four strings before the pool's place; this record was written by
  // BeginMessageRecord, so they are well-formed.
  absl::string_view rest(envelope + kEnvelopeFixedBytes + kEnvelopeScheduleBytes,
                         envelope_bytes - kEnvelopeFixedBytes - kEnvelopeScheduleBytes);
  absl::string_view skipped;
  for (int i = 0; i < 4; ++i) CHECK(GetStr16(&rest, &skipped));
  const size_t insert_at = static_cast<size_t>(rest.data() - record->data());
  const size_t added = 2 + pool.size();
  if (size_t{envelope_bytes} + added > kRecordPayloadBytesMax) {
    return absl::InvalidArgumentError("message envelope: too large");
  }
  core::ByteBuffer moved(std::max(record->capacity(), record->size() + added));
  moved.Append(record->view().substr(0, insert_at));
  PutStr16(&moved, pool);
  moved.Append(record->view().substr(insert_at));
  char* moved_envelope = moved.data() + kRecordHeaderBytes;
  StoreLE32(moved_envelope, static_cast<uint32_t>(envelope_bytes + added));
  moved_envelope[4] = static_cast<char>(kEnvelopeVersionPool);
  CHECK_EQ(moved.size(), record->size() + added);
  *record = std::move(moved);
  return absl::OkStatus();
}

bool RecipientIterator::Next(RecipientView* out) {
  if (left_ == 0) return false;
  if (rest_.size() < 2) return false;
  out->state = static_cast<RecipientState>(rest_[0]);
  out->notify = static_cast<uint8_t>(rest_[1]);
  rest_.remove_prefix(2);
  if (!GetStr16(&rest_, &out->address) || !GetStr16(&rest_, &out->orcpt)) return false;
  --left_;
  return true;
}

bool MessageRecordView::Parse(absl::string_view payload) {
  if (payload.size() < kEnvelopeFixedBytes) return false;
  const uint32_t envelope_bytes = LoadLE32(payload.data());
  if (envelope_bytes < kEnvelopeFixedBytes || envelope_bytes > payload.size()) return false;
  const uint8_t version = static_cast<uint8_t>(payload[4]);
  if (version != kEnvelopeVersion && version != kEnvelopeVersionFirst &&
      version != kEnvelopeVersionPool) {
    return false;
  }
  const uint8_t body_type = static_cast<uint8_t>(payload[5]);
  if (body_type > static_cast<uint8_t>(BodyType::kBinaryMime)) return false;
  body_type_ = static_cast<BodyType>(body_type);
  smtputf8_ = (payload[6] & kEnvelopeFlagSmtputf8) != 0;
  dsn_ret_ = static_cast<uint8_t>(payload[7]);
  received_unix_us_ = static_cast<int64_t>(LoadLE64(payload.data() + 8));
  absl::string_view rest =
      payload.substr(kEnvelopeFixedBytes, envelope_bytes - kEnvelopeFixedBytes);
  schedule_ = MessageSchedule{};
  if (version >= kEnvelopeVersion) {
    if (rest.size() < kEnvelopeScheduleBytes) return false;
    schedule_.attempts = LoadLE32(rest.data());
    schedule_.held = (rest[4] & kScheduleFlagHeld) != 0;
    schedule_.next_attempt_unix_us = static_cast<int64_t>(LoadLE64(rest.data() + 8));
    rest.remove_prefix(kEnvelopeScheduleBytes);
  }
  if (!GetStr16(&rest, &client_address_) || !GetStr16(&rest, &helo_) ||
      !GetStr16(&rest, &sender_) || !GetStr16(&rest, &envid_)) {
    return false;
  }
  pool_ = absl::string_view();
  if (version == kEnvelopeVersionPool &&
      (!GetStr16(&rest, &pool_) || pool_.empty() || pool_.size() > kEnvelopePoolBytesMax)) {
    return false;
  }
  if (rest.size() < 4) return false;
  recipient_count_ = LoadLE32(rest.data());
  rest.remove_prefix(4);
  if (recipient_count_ == 0 || recipient_count_ > kEnvelopeRecipientsMax) return false;
  recipients_ = rest;
  // Walk once so that callers' iteration cannot fail and the list ends exactly at
  // envelope_bytes.
  RecipientIterator it(rest, recipient_count_);
  RecipientView r;
  size_t used = 0;
  for (uint32_t i = 0; i < recipient_count_; ++i) {
    if (!it.Next(&r)) return false;
    if (static_cast<uint8_t>(r.state) > static_cast<uint8_t>(RecipientState::kDeleted)) {
      return false;
    }
    used += 6 + r.address.size() + r.orcpt.size();
  }
  if (used != rest.size()) return false;
  envelope_bytes_ = envelope_bytes;
  body_ = payload.substr(envelope_bytes);
  return true;
}

}  // namespace tern::spool
