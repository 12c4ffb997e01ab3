// The outbound message as the SMTP client session takes it (OutboundMessage, its
// OutboundRecipients) and what a transaction returns (TransactionResult: one RecipientResult
// per recipient, the reply and the stage that decided it), with the bounds of a transaction.
// Shared by net/smtp/client_session.h and net/smtp/client_transaction.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "absl/strings/string_view.h"
#include "net/smtp/client_reply_parser.h"

namespace tern::net::smtp {

// RFC 5321 §4.5.3.1.8 requires servers to take at least 100; larger lists are split.
inline constexpr size_t kTransactionRecipientsMax = 1000;
// A reply kept in a RecipientResult is cut to this many bytes.
inline constexpr size_t kResultReplyBytesMax = 512;
// A BDAT chunk is queued as one output range per run between stuffing dots; a body that
// would need more (many lines starting with '.') is sent with DATA instead, which needs one
// range, so that a hostile body cannot make the output queue grow with its line count.
inline constexpr size_t kChunkRangesMax = 1024;

struct OutboundRecipient {
  absl::string_view address;  // dequoted local@domain, as stored
  uint32_t index = 0;         // the caller's index, returned in the result
  uint8_t notify = 0;         // RFC 3461 NOTIFY (DsnNotify bits), sent if the server has DSN
  absl::string_view orcpt;    // RFC 3461 ORCPT as stored, sent if the server has DSN
};

// Views: sender and recipients are needed only during StartTransaction(); the body must
// stay valid and unchanged until OnTransactionDone() AND until the owner's last send that
// used it completed (it is queued by reference).
struct OutboundMessage {
  absl::string_view sender;  // empty: the null reverse-path <>
  std::span<const OutboundRecipient> recipients;
  absl::string_view body;  // stored form: CRLF, dot-stuffed, without the final ".\r\n"
  bool needs_smtputf8 = false;
  bool eight_bit = false;   // BODY=8BITMIME
  uint64_t size = 0;        // for SIZE; 0: body.size()
  uint8_t dsn_ret = 0;      // RFC 3461 RET (DsnRet), sent if the server offers DSN
  absl::string_view envid;  // RFC 3461 ENVID as stored, sent if the server offers DSN
  // Header lines sent in front of the body (a DKIM-Signature): CRLF-terminated, no line
  // starting with '.'. Copied by StartTransaction(), so it need not outlive the call.
  absl::string_view prefix;
};

enum class DeliveryOutcome : uint8_t { kDelivered, kTempFailed, kPermFailed };

// Which reply decided a recipient's result.
enum class ReplyStage : uint8_t {
  kLocal,       // refused before sending (SIZE, SMTPUTF8)
  kConnection,  // connection lost, timeout or protocol error: no server reply
  kMail,
  kRcpt,
  kData,     // the reply to DATA
  kDataEnd,  // the reply to the final dot, or to BDAT LAST
};
absl::string_view ReplyStageName(ReplyStage stage);

struct RecipientResult {
  uint32_t index = 0;  // OutboundRecipient::index
  DeliveryOutcome outcome = DeliveryOutcome::kTempFailed;
  ReplyStage stage = ReplyStage::kConnection;
  int code = 0;  // the reply code (451 for connection failures)
  EnhancedCode enhanced;
  absl::string_view reply;  // "550 5.1.1 text..." for the delivery log; valid in callback
};

struct TransactionResult {
  std::span<const RecipientResult> recipients;  // in the message's order
  bool connection_failed = false;               // OnConnectionFailed() follows
  // The server refused this transaction's MAIL because it was pipelined behind the
  // previous transaction's end of data (503, or a refusal while that transaction may still
  // have been open): it was not really tried. Every recipient carries a temporary failure
  // (451 4.5.0 quoting the reply); the caller may send the message again at once, on this
  // connection (which no longer pipelines transactions) or another.
  bool retry_at_once = false;
};

}  // namespace tern::net::smtp
