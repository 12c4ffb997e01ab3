// MESSAGE record payload: the envelope, then the body exactly as it will be sent (CRLF line
// endings, dot-stuffed, without the terminating ".\r\n").
//
// Envelope layout (little-endian; str16 = u16 length + bytes):
//
//   +----------+---------+-----------+-------+-----+-------------+
//   | envelope | version | body_type | flags | ret | received_us |
//   | bytes u32| u8 (=2) | u8        | u8    | u8  | i64         |
//   +----------+---------+-----------+-------+-----+-------------+
//   | version 2 only: attempts u32 | schedule flags u8 | 3 bytes zero |              |
//   |                 next_attempt_unix_us i64                                       |
//   +--------------------------------------------------------------------------------+
//   | client_address str16 | helo str16 | sender str16 | envid str16                  |
//   +--------------------------------------------------------------------------------+
//   | version 3 only: pool str16                                                      |
//   +--------------------------------------------------------------------------------+
//   | recipient count u32 | recipient * count: state u8, notify u8, address str16,    |
//   |                     |                    orcpt str16                            |
//   +---------------------+-----------------------------------------------------------+
//   | body: payload bytes [envelope bytes, payload length)                            |
//   +---------------------------------------------------------------------------------+
//
//   envelope_bytes counts the whole envelope including its own field, so the body is
//   payload[envelope_bytes:]. flags bit 0: SMTPUTF8. ret/notify/envid/orcpt are the DSN
//   (RFC 3461) parameters, zero/empty when absent. Schedule flags bit 0: held.
//   Version 1 (the first format, 16 fixed bytes, no schedule block) is still read; version
//   2 is written for a message without an egress pool, version 3 (version 2 plus the pool
//   name, delivery/egress_config.h) for one with a pool: records of mail that names no pool
//   stay readable by a ternd from before pools. A new message's recipients are kPending with a zero
//   schedule; state changes are later records (spool/state_record.h), folded in by recovery. A copy
//   made by garbage collection stores the folded recipient states and schedule in its envelope.
//
// Writing (the SMTP glue does this through ShardSpool):
//   core::ByteBuffer record;
//   RETURN_IF_ERROR(BeginMessageRecord(queue_id, envelope, &record));  // header + envelope
//   record.Append(body_bytes);                                          // as it arrives
//   FinishRecord(&record);                                              // length + crc
// The egress pool is known only once the body's header section has arrived; it is put into
// the envelope then, with SetPendingMessagePool(&record, pool), before FinishRecord.
//
// Reading (recovery, delivery):
//   MessageRecordView view;
//   if (view.Parse(record.payload)) { for (auto it = view.recipients(); it.Next(&r);) ... }
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "core/byte_buffer.h"

namespace tern::spool {

inline constexpr uint8_t kEnvelopeVersion = 2;        // written without a pool
inline constexpr uint8_t kEnvelopeVersionPool = 3;    // written with a pool
inline constexpr uint8_t kEnvelopeVersionFirst = 1;   // still read: no schedule block
inline constexpr size_t kEnvelopeFixedBytes = 16;     // up to and including received_us
inline constexpr size_t kEnvelopeScheduleBytes = 16;  // version 2: attempts .. next attempt
inline constexpr uint8_t kScheduleFlagHeld = 1;
inline constexpr size_t kEnvelopeStringBytesMax = 65535;  // str16
inline constexpr size_t kEnvelopePoolBytesMax = 255;      // a pool name, at most
// More than RFC 5321 §4.5.3.1.8's minimum of 100; the session enforces its own lower limit.
inline constexpr size_t kEnvelopeRecipientsMax = 100'000;
inline constexpr uint8_t kEnvelopeFlagSmtputf8 = 1;

enum class BodyType : uint8_t { kSevenBit = 0, kEightBitMime = 1, kBinaryMime = 2 };

// Per-recipient delivery state, as stored and as kept in the queue index.
enum class RecipientState : uint8_t {
  kPending = 0,
  kDelivered = 1,
  kDeferred = 2,
  kBounced = 3,
  kExpired = 4,
  kDeleted = 5,  // by the operator (ternctl delete): no delivery, no bounce
};

// "pending", "delivered", "deferred", "bounced", "expired", "deleted": for listings and the
// delivery log.
const char* RecipientStateName(RecipientState state);

// Delivered, bounced, expired or deleted: nothing more will be tried for this recipient.
inline bool IsFinalRecipientState(RecipientState state) {
  return state == RecipientState::kDelivered || state == RecipientState::kBounced ||
         state == RecipientState::kExpired || state == RecipientState::kDeleted;
}

// RFC 3461 NOTIFY bits (0: not given).
enum NotifyFlags : uint8_t {
  kNotifyNever = 1,
  kNotifySuccess = 2,
  kNotifyFailure = 4,
  kNotifyDelay = 8,
};

struct RecipientEnvelope {
  absl::string_view address;                        // dequoted local@domain
  uint8_t notify = 0;                               // NotifyFlags
  absl::string_view orcpt;                          // RFC 3461 ORCPT, as given (empty: absent)
  RecipientState state = RecipientState::kPending;  // not kPending only in copies
};

// The queue's per-message scheduling state (zero for a new message).
struct MessageSchedule {
  uint32_t attempts = 0;             // delivery attempts made (the most of any recipient)
  int64_t next_attempt_unix_us = 0;  // from the latest DEFERRED result (0: as soon as ready)
  bool held = false;                 // HOLD: not delivered until RELEASE
};

// The envelope to store; views valid only during BeginMessageRecord().
struct MessageEnvelope {
  int64_t received_unix_us = 0;
  absl::string_view client_address;
  absl::string_view helo;
  absl::string_view sender;  // empty for the null reverse-path <>
  std::span<const RecipientEnvelope> recipients;
  BodyType body_type = BodyType::kSevenBit;
  bool smtputf8 = false;
  uint8_t dsn_ret = 0;       // RFC 3461 RET: 0 absent, 1 FULL, 2 HDRS
  absl::string_view envid;   // RFC 3461 ENVID (empty: absent)
  absl::string_view pool;    // egress pool name (empty: none, the kernel picks the source)
  MessageSchedule schedule;  // copies only
};

// Appends the record header placeholder and the encoded envelope to `record` (empty).
// InvalidArgument when a string exceeds kEnvelopeStringBytesMax or there are no / too many
// recipients; `record` is then left empty.
absl::Status BeginMessageRecord(uint64_t queue_id, const MessageEnvelope& envelope,
                                core::ByteBuffer* record);

// Puts `pool` (not empty) into the envelope of a record begun by BeginMessageRecord without
// one, whose body may have been appended in part: the envelope grows by 2 + pool.size()
// bytes and everything after it moves (one copy of the bytes so far). InvalidArgument when
// the record already has a pool or the name is longer than kEnvelopePoolBytesMax; `record` is then
// unchanged.
absl::Status SetPendingMessagePool(core::ByteBuffer* record, absl::string_view pool);

class MessageRecordView;

// Builds a finished MESSAGE record (header, envelope, body, crc) in `record` (empty) that
// copies `source` with the given recipient states (one per recipient) and schedule: what
// garbage collection writes when it moves a live message forward.
absl::Status BuildMessageCopy(uint64_t queue_id, const MessageRecordView& source,
                              std::span<const RecipientState> states,
                              const MessageSchedule& schedule, core::ByteBuffer* record);

struct RecipientView {
  absl::string_view address;
  absl::string_view orcpt;
  RecipientState state = RecipientState::kPending;
  uint8_t notify = 0;
};

// Walks the recipients of a parsed MessageRecordView.
class RecipientIterator {
 public:
  RecipientIterator(absl::string_view bytes, uint32_t count) : rest_(bytes), left_(count) {}
  // Fills `out` with the next recipient; false at the end.
  bool Next(RecipientView* out);

 private:
  absl::string_view rest_;
  uint32_t left_;
};

// A decoded MESSAGE payload: views into the payload bytes, which must outlive it.
class MessageRecordView {
 public:
  // Validates the whole envelope (lengths, recipient list). False: malformed payload.
  bool Parse(absl::string_view payload);

  int64_t received_unix_us() const { return received_unix_us_; }
  absl::string_view client_address() const { return client_address_; }
  absl::string_view helo() const { return helo_; }
  absl::string_view sender() const { return sender_; }
  absl::string_view envid() const { return envid_; }
  absl::string_view pool() const { return pool_; }  // empty: none
  BodyType body_type() const { return body_type_; }
  bool smtputf8() const { return smtputf8_; }
  uint8_t dsn_ret() const { return dsn_ret_; }
  const MessageSchedule& schedule() const { return schedule_; }
  uint32_t recipient_count() const { return recipient_count_; }
  RecipientIterator recipients() const { return {recipients_, recipient_count_}; }
  size_t envelope_bytes() const { return envelope_bytes_; }
  absl::string_view body() const { return body_; }

 private:
  int64_t received_unix_us_ = 0;
  absl::string_view client_address_, helo_, sender_, envid_, pool_;
  BodyType body_type_ = BodyType::kSevenBit;
  bool smtputf8_ = false;
  uint8_t dsn_ret_ = 0;
  MessageSchedule schedule_;
  uint32_t recipient_count_ = 0;
  absl::string_view recipients_;
  size_t envelope_bytes_ = 0;
  absl::string_view body_;
};

}  // namespace tern::spool
