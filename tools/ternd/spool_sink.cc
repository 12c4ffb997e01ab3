// Implementation of tools/ternd/spool_sink.h.
#include "tools/ternd/spool_sink.h"

#include "absl/time/clock.h"

namespace tern::ternd {

absl::Status SpoolSink::CheckAcceptingMail() { return spool_->CheckAccepting(); }

absl::StatusOr<uint64_t> SpoolSink::BeginMessage(const smtp::EnvelopeView& envelope,
                                                 core::ByteBuffer* record) {
  absl::Status accepting = spool_->CheckAccepting();
  if (!accepting.ok()) return accepting;
  recipients_.clear();
  for (absl::string_view address : envelope.recipients) {
    spool::RecipientEnvelope recipient;
    recipient.address = address;
    recipients_.push_back(recipient);
  }
  spool::MessageEnvelope stored;
  stored.received_unix_us = absl::ToUnixMicros(absl::Now());
  stored.client_address = envelope.client_address;
  stored.helo = envelope.helo;
  stored.sender = envelope.sender;
  stored.recipients = recipients_;
  stored.body_type = envelope.body_type == smtp::BodyType::kEightBitMime
                         ? spool::BodyType::kEightBitMime
                         : spool::BodyType::kSevenBit;
  stored.smtputf8 = envelope.smtputf8;
  const uint64_t queue_id = spool_->NextQueueId();
  absl::Status begun = spool_->BeginMessage(queue_id, stored, record);
  if (!begun.ok()) return begun;
  return queue_id;
}

void SpoolSink::CommitMessage(uint64_t queue_id, core::ByteBuffer record,
                              smtp::CommitWaiter* waiter) {
  net::CommitListener* listener = listener_;
  spool_->CommitMessage(queue_id, std::move(record), [waiter, listener](absl::Status status) {
    waiter->OnCommitted(std::move(status));
    listener->OnMessageCommitted();  // may free the connection, this sink and the waiter
  });
}

}  // namespace tern::ternd
