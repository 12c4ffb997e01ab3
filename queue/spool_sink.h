// SpoolSink: the smtp::MessageSink of one SMTP connection, on top of its shard's spool. It
// turns the session's envelope into the spool's MESSAGE record, tells the connection
// (net::CommitListener) when a message's fdatasync completed so the reply goes out, and
// writes the "received" event of every acknowledged message to the delivery log.
#pragma once

#include <string>
#include <vector>

#include "delivery/delivery_log.h"
#include "net/smtp/message_sink.h"
#include "net/smtp_connection.h"
#include "spool/shard_spool.h"

namespace tern::queue {

class SpoolSink : public smtp::MessageSink {
 public:
  // `log` may be null (no delivery log).
  SpoolSink(spool::ShardSpool* spool, delivery::DeliveryLog* log, net::CommitListener* listener)
      : spool_(spool), log_(log), listener_(listener) {}

  absl::Status CheckAcceptingMail() override;
  absl::StatusOr<uint64_t> BeginMessage(const smtp::EnvelopeView& envelope,
                                        core::ByteBuffer* record) override;
  void CommitMessage(uint64_t queue_id, core::ByteBuffer record,
                     smtp::CommitWaiter* waiter) override;

 private:
  spool::ShardSpool* spool_;
  delivery::DeliveryLog* log_;
  net::CommitListener* listener_;
  // The message being received, for its "received" log line.
  size_t body_offset_ = 0;  // where the body starts in the record
  std::string sender_;
  std::string client_;
  int recipient_count_ = 0;
  std::vector<spool::RecipientEnvelope> recipients_;  // reused for every message
};

}  // namespace tern::queue
