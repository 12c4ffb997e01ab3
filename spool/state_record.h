// State records: the queue's changes to a stored message, appended after its MESSAGE record
// and folded into the queue index by recovery (spool/recovery.h) and by ShardSpool at run
// time. Types (spool/record_format.h): DELIVERED / DEFERRED / BOUNCED / EXPIRED / DELETED
// carry one recipient's result (DELETED: the operator's `ternctl delete`); HOLD / RELEASE
// apply to the whole message. The record header's queue id names the message.
//
// Recipient result payload (little-endian; str8 = u8 length + bytes, str16 = u16 + bytes):
//
//   +---------+----------+------------+-----------+----------+----------------------+
//   | version | reserved | reply_code | recipient | attempts | next_attempt_unix_us |
//   | u8 (=1) | u8 (=0)  | u16        | u32       | u32      | i64                  |
//   +---------+----------+------------+-----------+----------+----------------------+
//   0         1          2            4           8          12                     20
//   | enhanced_code str8 (<= 15) | destination_host str8 (<= 255) |
//   | reply_text str16 (<= 512)                                    |
//
//   recipient: index into the MESSAGE record's recipient list. attempts: delivery attempts
//   made so far, this one included. next_attempt_unix_us: DEFERRED only (0 otherwise).
//   reply_code: the remote SMTP reply code (0: none, e.g. a DNS or connection failure).
//   The strings are what the remote said (RFC 3463 enhanced code, first reply line) and
//   the host that said it, for the delivery log and the DSN. Encoding truncates them to
//   their bounds (remote text is untrusted and only informative); decoding rejects a
//   payload whose strings exceed them or that does not end exactly after reply_text.
//
// HOLD / RELEASE payload: version u8 (=1), 7 reserved zero bytes, at_unix_us i64 (when the
// operator asked). 16 bytes. A HOLD with an end (`ternctl hold --duration`) is version 2,
// 24 bytes: the same, then until_unix_us i64 (> 0: released then). Version 1 records, and
// every record written before version 2 existed, read as held until released. (A binary
// older than version 2 logs a version 2 record as malformed and ignores it: after a
// downgrade such a message is not held.)
//
//   core::ByteBuffer record;
//   EncodeRecipientResult(queue_id, result, &record);     // a finished record
//   RecipientResultView view;
//   if (DecodeRecipientResult(record_view.type, record_view.payload, &view)) ...
#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "core/byte_buffer.h"
#include "spool/message_record.h"
#include "spool/record_format.h"

namespace tern::spool {

inline constexpr uint8_t kStateRecordVersion = 1;
inline constexpr size_t kRecipientResultFixedBytes = 20;
inline constexpr size_t kEnhancedCodeBytesMax = 15;      // "5.7.1"; RFC 3463 allows x.yyy.zzz
inline constexpr size_t kDestinationHostBytesMax = 255;  // RFC 1035 §2.3.4
inline constexpr size_t kReplyTextBytesMax = 512;        // RFC 5321 §4.5.3.1.5 reply line
inline constexpr size_t kRecipientResultPayloadBytesMax =
    kRecipientResultFixedBytes + 1 + kEnhancedCodeBytesMax + 1 + kDestinationHostBytesMax + 2 +
    kReplyTextBytesMax;
inline constexpr size_t kHoldPayloadBytes = 16;
inline constexpr uint8_t kTimedHoldVersion = 2;
inline constexpr size_t kTimedHoldPayloadBytes = 24;
static_assert(kEnhancedCodeBytesMax <= UINT8_MAX && kDestinationHostBytesMax <= UINT8_MAX);
static_assert(kReplyTextBytesMax <= UINT16_MAX);

// One recipient's delivery result, as the delivery code reports it. The views need only
// live during the call that encodes it.
struct RecipientResult {
  uint32_t recipient = 0;                            // index in the message's recipient list
  RecipientState state = RecipientState::kDeferred;  // never kPending
  uint32_t attempts = 0;
  int64_t next_attempt_unix_us = 0;  // kDeferred: when to try again
  uint16_t reply_code = 0;
  absl::string_view enhanced_code;
  absl::string_view reply_text;
  absl::string_view destination_host;
};

// A decoded result: views into the record payload.
using RecipientResultView = RecipientResult;

// The record type of a result state, and back. kPending has no record type (CHECKed).
RecordType RecordTypeOfResult(RecipientState state);
// True for DELIVERED / DEFERRED / BOUNCED / EXPIRED / DELETED, filling `state`.
bool ResultStateOfRecordType(RecordType type, RecipientState* state);

// Builds a finished record (header + payload + crc) in `record` (empty). CHECKs that the
// state is a result state; truncates strings to their bounds.
void EncodeRecipientResult(uint64_t queue_id, const RecipientResult& result,
                           core::ByteBuffer* record);
// Parses a result payload of a record of `type`. False: not a result type, or malformed.
bool DecodeRecipientResult(RecordType type, absl::string_view payload, RecipientResultView* out);

// HOLD (held = true) or RELEASE record, finished. `until_unix_us` > 0 (HOLD only, CHECKed):
// the hold ends then (version 2).
void EncodeHold(uint64_t queue_id, bool held, int64_t at_unix_us, core::ByteBuffer* record,
                int64_t until_unix_us = 0);
// Parses a HOLD / RELEASE payload of a record of `type`. False: other type or malformed.
// `until_unix_us` (may be null) gets the hold's end, 0 when it has none.
bool DecodeHold(RecordType type, absl::string_view payload, bool* held, int64_t* at_unix_us,
                int64_t* until_unix_us = nullptr);

}  // namespace tern::spool
