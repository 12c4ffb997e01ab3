// Implementation of queue/spool_sink.h.
#include "queue/spool_sink.h"

#include <algorithm>

#include "absl/time/clock.h"
#include "core/check.h"
#include "delivery/message_headers.h"
#include "net/smtp/client_commands.h"

namespace tern::queue {

// The session's RFC 3461 values are stored as they are.
static_assert(net::smtp::kDsnRetFull == 1);
static_assert(net::smtp::kDsnRetHeaders == 2);
static_assert(static_cast<int>(net::smtp::kDsnNotifyNever) ==
              static_cast<int>(spool::kNotifyNever));
static_assert(static_cast<int>(net::smtp::kDsnNotifySuccess) ==
              static_cast<int>(spool::kNotifySuccess));
static_assert(static_cast<int>(net::smtp::kDsnNotifyFailure) ==
              static_cast<int>(spool::kNotifyFailure));
static_assert(static_cast<int>(net::smtp::kDsnNotifyDelay) ==
              static_cast<int>(spool::kNotifyDelay));

absl::Status SpoolSink::CheckAcceptingMail() { return spool_->CheckAccepting(); }

absl::StatusOr<uint64_t> SpoolSink::BeginMessage(const net::smtp::EnvelopeView& envelope,
                                                 core::ByteBuffer* record) {
  absl::Status accepting = spool_->CheckAccepting();
  if (!accepting.ok()) return accepting;
  recipients_.clear();
  for (const net::smtp::EnvelopeRecipient& r : envelope.recipients) {
    spool::RecipientEnvelope recipient;
    recipient.address = r.address;
    recipient.notify = r.notify;  // net::smtp::DsnNotify and spool::NotifyFlags share their bits
    recipient.orcpt = r.orcpt;    // xtext, as received: the client sends it on verbatim
    recipients_.push_back(recipient);
  }
  spool::MessageEnvelope stored;
  stored.received_unix_us = absl::ToUnixMicros(absl::Now());
  stored.client_address = envelope.client_address;
  stored.helo = envelope.helo;
  stored.sender = envelope.sender;
  stored.recipients = recipients_;
  stored.body_type = envelope.body_type == net::smtp::BodyType::kEightBitMime
                         ? spool::BodyType::kEightBitMime
                         : spool::BodyType::kSevenBit;
  stored.smtputf8 = envelope.smtputf8;
  stored.dsn_ret = envelope.dsn_ret;  // net::smtp::DsnRet: the spool's 1 FULL, 2 HDRS
  stored.envid = envelope.envid;      // xtext, as received
  const uint64_t queue_id = spool_->NextQueueId();
  absl::Status begun = spool_->BeginMessage(queue_id, stored, record);
  if (!begun.ok()) return begun;
  body_offset_ = record->size();
  sender_.assign(envelope.sender.data(), envelope.sender.size());
  client_.assign(envelope.client_address.data(), envelope.client_address.size());
  auth_pool_.assign(envelope.auth_pool.data(), envelope.auth_pool.size());
  pool_.clear();
  message_pools_ = pools_in_force_ != nullptr ? *pools_in_force_ : nullptr;
  recipient_count_ = static_cast<int>(envelope.recipients.size());
  return queue_id;
}

absl::Status SpoolSink::OnHeaderSection(core::ByteBuffer* record, size_t body_begin,
                                        size_t header_end) {
  CHECK(message_pools_ != nullptr);  // WantsHeaderSection() said so
  absl::StatusOr<absl::string_view> pool =
      message_pools_->Resolve(record, body_begin, &header_end, sender_, auth_pool_);
  if (!pool.ok() || pool->empty()) return pool.status();
  const size_t before = record->size();
  if (absl::Status set = spool::SetPendingMessagePool(record, *pool); !set.ok()) return set;
  pool_.assign(pool->data(), pool->size());
  body_offset_ += record->size() - before;  // the envelope grew
  return absl::OkStatus();
}

void SpoolSink::CommitMessage(uint64_t queue_id, core::ByteBuffer record,
                              net::smtp::CommitWaiter* waiter) {
  net::CommitListener* listener = listener_;
  std::string received_line;
  if (log_ != nullptr) {
    const absl::string_view body = record.view().substr(std::min(body_offset_, record.size()));
    delivery::DeliveryEvent event;
    event.event = "received";
    event.queue_id = queue_id;
    event.message_id = delivery::FindMessageId(body);
    event.sender = sender_.empty() ? "<>" : absl::string_view(sender_);
    event.recipients = recipient_count_;
    event.size = body.size();
    event.client = client_;
    event.pool = pool_;
    received_line = delivery::FormatDeliveryEvent(event);
  }
  delivery::DeliveryLog* log = log_;
  spool_->CommitMessage(
      queue_id, std::move(record),
      [waiter, listener, log, line = std::move(received_line)](absl::Status status) {
        // Logged only once durable: the log never shows a message the spool may not have.
        if (status.ok() && log != nullptr) log->AppendLine(line);
        waiter->OnCommitted(std::move(status));
        listener->OnMessageCommitted();  // may free the connection, this sink and the waiter
      });
}

}  // namespace tern::queue
