// ClientTransaction: the bookkeeping of ONE outbound mail transaction for
// net/smtp/client_session.h: its commands (formatted once), its recipients with the reply
// that decided each, the texts of those replies, and the results handed to the session's
// handler. It sends nothing and parses nothing; the session moves it through the replies.
// A session holds two, so that the next transaction can be pipelined behind the end of data
// of the current one.
//
//   ClientTransaction t;
//   RETURN_IF_ERROR(t.Build(message, capabilities));  // commands() holds MAIL, RCPTs, DATA
//   ... on each reply: t.Decide(i, reply, stage) / t.DecideAll(reply, stage, accepted_only)
//   TransactionCounts counts = t.CollectResults(&results);  // every recipient decided
//   t.Reset();
//
// Bounds: kTransactionRecipientsMax recipients (the session checks); one result text of at
// most kResultReplyBytesMax per decision, so the text arena stays within
// (recipients + 3) x (kResultReplyBytesMax + 64) bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "net/smtp/client_capabilities.h"
#include "net/smtp/client_reply_parser.h"
#include "net/smtp/outbound_message.h"

namespace tern::net::smtp {

struct TransactionCounts {
  uint64_t delivered = 0;
  uint64_t temp_failed = 0;
  uint64_t perm_failed = 0;
};

class ClientTransaction {
 public:
  // A range of commands() or of the reply texts.
  struct Span {
    uint32_t offset = 0;
    uint32_t size = 0;
  };

  ClientTransaction() = default;
  ClientTransaction(const ClientTransaction&) = delete;
  ClientTransaction& operator=(const ClientTransaction&) = delete;

  // Formats MAIL, one RCPT per recipient and DATA or "BDAT <size> LAST" (when the server
  // offers CHUNKING and the body needs at most kChunkRangesMax ranges) for `capabilities`,
  // and keeps the body (by reference) and the prefix (copied). InvalidArgument for an
  // address that cannot be sent; the transaction is then Reset().
  absl::Status Build(const OutboundMessage& message, const ServerCapabilities& capabilities);
  // Back to empty (keeps its memory).
  void Reset();

  absl::string_view commands() const { return commands_; }
  absl::string_view mail_command() const { return View(commands_, mail_command_); }
  absl::string_view rcpt_command(size_t i) const { return View(commands_, recipients_[i].command); }
  absl::string_view data_command() const { return View(commands_, data_command_); }
  bool chunking() const { return chunking_; }
  absl::string_view body() const { return body_; }
  absl::string_view prefix() const { return prefix_; }
  size_t recipient_count() const { return recipients_.size(); }

  // Replies: RCPT number i was accepted (the DATA / end-of-data reply decides it).
  void Accept(size_t i);
  bool accepted(size_t i) const { return recipients_[i].accepted; }
  size_t accepted_count() const { return accepted_; }
  // Recipient i is decided by `reply` at `stage`.
  void Decide(size_t i, const ServerReply& reply, ReplyStage stage);
  // Every recipient (or every accepted one) is decided by `reply`.
  void DecideAll(const ServerReply& reply, ReplyStage stage, bool accepted_only);
  // Every recipient gets `outcome` with `code`, `enhanced` and `text` (our own words, cut to
  // kResultReplyBytesMax).
  void DecideAllWith(DeliveryOutcome outcome, ReplyStage stage, int code,
                     const EnhancedCode& enhanced, absl::string_view text);
  // Every recipient is a temporary failure quoting `reply` (a 421 closing the connection).
  void FailAllQuoting(const ServerReply& reply, ReplyStage stage, const EnhancedCode& fallback);

  // One result per recipient, in the message's order, into `results` (replaced); the views
  // point into this transaction, valid until its next change. Every recipient must be
  // decided.
  TransactionCounts CollectResults(std::vector<RecipientResult>* results) const;

  // Progress of the session through this transaction's replies.
  bool in_flight = false;        // begun, not reported yet
  bool pipelined = false;        // MAIL, RCPTs and DATA/BDAT went out as one batch
  bool fully_queued = false;     // every command and the body are in the output queue
  bool behind = false;           // its batch went out before the previous end-of-data reply
  bool behind_open = false;      // ... and that transaction may still be open on the server
  bool decided_locally = false;  // refused before sending (SIZE, SMTPUTF8): nothing sent
  bool retry_at_once = false;    // refused for being pipelined: not tried, send it again
  bool mail_failed = false;
  bool aborting_data = false;  // 354 with nobody accepted: a lone dot was sent
  size_t rcpt_replies = 0;

 private:
  struct Recipient {
    uint32_t index = 0;
    Span command;  // its RCPT line in commands_
    DeliveryOutcome outcome = DeliveryOutcome::kTempFailed;
    ReplyStage stage = ReplyStage::kConnection;
    int code = 0;
    EnhancedCode enhanced;
    Span reply;             // in replies_
    bool accepted = false;  // RCPT got 2xx
  };

  Span StoreReply(const ServerReply& reply);
  Span StoreText(absl::string_view text);
  void Decide(Recipient* recipient, const ServerReply& reply, ReplyStage stage, Span text);
  static absl::string_view View(const std::string& arena, Span span) {
    return absl::string_view(arena).substr(span.offset, span.size);
  }

  bool chunking_ = false;
  absl::string_view body_;
  std::string prefix_;
  std::string commands_;
  Span mail_command_;
  Span data_command_;
  std::vector<Recipient> recipients_;
  size_t accepted_ = 0;
  std::string replies_;
};

}  // namespace tern::net::smtp
