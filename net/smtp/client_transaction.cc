// Implementation of net/smtp/client_transaction.h: formatting a transaction's commands and
// keeping each recipient's deciding reply.
#include "net/smtp/client_transaction.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/check.h"
#include "core/utf8.h"
#include "net/smtp/client_commands.h"
#include "net/smtp/dot_stuffing.h"

namespace tern::net::smtp {
namespace {

constexpr absl::string_view kDataCommand = "DATA\r\n";
constexpr absl::string_view kCrlf = "\r\n";

DeliveryOutcome OutcomeOf(int code) {
  if (code / 100 == 2) return DeliveryOutcome::kDelivered;
  if (code / 100 == 4) return DeliveryOutcome::kTempFailed;
  return DeliveryOutcome::kPermFailed;
}

}  // namespace

absl::string_view ReplyStageName(ReplyStage stage) {
  switch (stage) {
    case ReplyStage::kLocal:
      return "local";
    case ReplyStage::kConnection:
      return "connection";
    case ReplyStage::kMail:
      return "MAIL FROM";
    case ReplyStage::kRcpt:
      return "RCPT TO";
    case ReplyStage::kData:
      return "DATA";
    case ReplyStage::kDataEnd:
      return "end of data";
  }
  return "unknown";
}

absl::Status ClientTransaction::Build(const OutboundMessage& message,
                                      const ServerCapabilities& capabilities) {
  // Spans are 32-bit: commands and replies of a transaction are far below 4 GiB.
  static_assert((kTransactionRecipientsMax + 3) * (kResultReplyBytesMax + 64) < UINT32_MAX);
  CHECK_LE(message.recipients.size(), kTransactionRecipientsMax);
  Reset();
  MailParameters params;
  if (capabilities.size) params.size = message.size != 0 ? message.size : message.body.size();
  params.eight_bit_mime = message.eight_bit && capabilities.eight_bit_mime;
  params.smtputf8 = message.needs_smtputf8 && capabilities.smtputf8;
  if (capabilities.dsn) {
    params.dsn_ret = message.dsn_ret;
    params.envid = message.envid;
  }
  if (!AppendMailFrom(message.sender, params, &commands_)) {
    Reset();
    return absl::InvalidArgumentError("sender address cannot be sent");
  }
  mail_command_ = {0, static_cast<uint32_t>(commands_.size())};
  recipients_.reserve(message.recipients.size());
  for (const OutboundRecipient& rcpt : message.recipients) {
    const auto start = static_cast<uint32_t>(commands_.size());
    RcptParameters rcpt_params;
    if (capabilities.dsn) rcpt_params = {rcpt.notify, rcpt.orcpt};
    if (!AppendRcptTo(rcpt.address, rcpt_params, &commands_)) {
      Reset();
      return absl::InvalidArgumentError(
          absl::StrCat("recipient address ", rcpt.index, " cannot be sent"));
    }
    Recipient recipient;
    recipient.index = rcpt.index;
    recipient.command = {start, static_cast<uint32_t>(commands_.size() - start)};
    recipients_.push_back(recipient);
  }
  const auto data_start = static_cast<uint32_t>(commands_.size());
  const bool needs_final_crlf = !message.body.empty() && !absl::EndsWith(message.body, kCrlf);
  uint64_t chunk_size = (needs_final_crlf ? kCrlf.size() : 0) + message.prefix.size();
  size_t ranges = 0;
  if (capabilities.chunking) {
    ForEachUnstuffedRange(message.body, [&](absl::string_view range) {
      chunk_size += range.size();
      ++ranges;
    });
  }
  chunking_ = capabilities.chunking && ranges <= kChunkRangesMax;
  if (chunking_) {
    // RFC 3030 §2: the whole message as one chunk of its unstuffed size.
    absl::StrAppend(&commands_, "BDAT ", chunk_size, " LAST", kCrlf);
  } else {
    commands_.append(kDataCommand.data(), kDataCommand.size());
  }
  data_command_ = {data_start, static_cast<uint32_t>(commands_.size() - data_start)};
  body_ = message.body;
  prefix_.assign(message.prefix.data(), message.prefix.size());
  return absl::OkStatus();
}

void ClientTransaction::Reset() {
  in_flight = false;
  pipelined = false;
  fully_queued = false;
  behind = false;
  behind_open = false;
  decided_locally = false;
  retry_at_once = false;
  mail_failed = false;
  aborting_data = false;
  rcpt_replies = 0;
  chunking_ = false;
  body_ = absl::string_view();
  prefix_.clear();
  commands_.clear();
  mail_command_ = {};
  data_command_ = {};
  recipients_.clear();
  accepted_ = 0;
  replies_.clear();
}

void ClientTransaction::Accept(size_t i) {
  CHECK_LT(i, recipients_.size());
  if (recipients_[i].accepted) return;
  recipients_[i].accepted = true;
  ++accepted_;
}

ClientTransaction::Span ClientTransaction::StoreText(absl::string_view text) {
  text = core::Utf8Prefix(text, kResultReplyBytesMax);
  const auto offset = static_cast<uint32_t>(replies_.size());
  replies_.append(text.data(), text.size());
  return {offset, static_cast<uint32_t>(text.size())};
}

ClientTransaction::Span ClientTransaction::StoreReply(const ServerReply& reply) {
  const auto offset = static_cast<uint32_t>(replies_.size());
  reply.AppendSummary(kResultReplyBytesMax, &replies_);
  return {offset, static_cast<uint32_t>(replies_.size() - offset)};
}

void ClientTransaction::Decide(Recipient* recipient, const ServerReply& reply, ReplyStage stage,
                               Span text) {
  recipient->outcome = OutcomeOf(reply.code());
  recipient->stage = stage;
  recipient->code = reply.code();
  recipient->enhanced = reply.enhanced();
  recipient->reply = text;
}

void ClientTransaction::Decide(size_t i, const ServerReply& reply, ReplyStage stage) {
  CHECK_LT(i, recipients_.size());
  Decide(&recipients_[i], reply, stage, StoreReply(reply));
}

void ClientTransaction::DecideAll(const ServerReply& reply, ReplyStage stage, bool accepted_only) {
  const Span text = StoreReply(reply);
  for (Recipient& recipient : recipients_) {
    if (!accepted_only || recipient.accepted) Decide(&recipient, reply, stage, text);
  }
}

void ClientTransaction::DecideAllWith(DeliveryOutcome outcome, ReplyStage stage, int code,
                                      const EnhancedCode& enhanced, absl::string_view text) {
  const Span span = StoreText(text);
  for (Recipient& recipient : recipients_) {
    recipient.outcome = outcome;
    recipient.stage = stage;
    recipient.code = code;
    recipient.enhanced = enhanced;
    recipient.reply = span;
  }
}

void ClientTransaction::FailAllQuoting(const ServerReply& reply, ReplyStage stage,
                                       const EnhancedCode& fallback) {
  const Span text = StoreReply(reply);
  for (Recipient& recipient : recipients_) {
    recipient.outcome = DeliveryOutcome::kTempFailed;
    recipient.stage = stage;
    recipient.code = reply.code();
    recipient.enhanced = reply.enhanced().present() ? reply.enhanced() : fallback;
    recipient.reply = text;
  }
}

TransactionCounts ClientTransaction::CollectResults(std::vector<RecipientResult>* results) const {
  results->clear();
  results->reserve(recipients_.size());
  TransactionCounts counts;
  for (const Recipient& recipient : recipients_) {
    // Every recipient is decided by now: refused, or accepted and then decided by the
    // DATA / end-of-data reply, or failed with the connection.
    CHECK(recipient.code != 0);
    RecipientResult result;
    result.index = recipient.index;
    result.outcome = recipient.outcome;
    result.stage = recipient.stage;
    result.code = recipient.code;
    result.enhanced = recipient.enhanced;
    result.reply = View(replies_, recipient.reply);
    results->push_back(result);
    switch (recipient.outcome) {
      case DeliveryOutcome::kDelivered:
        ++counts.delivered;
        break;
      case DeliveryOutcome::kTempFailed:
        ++counts.temp_failed;
        break;
      case DeliveryOutcome::kPermFailed:
        ++counts.perm_failed;
        break;
    }
  }
  return counts;
}

}  // namespace tern::net::smtp
