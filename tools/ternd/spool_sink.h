// SpoolSink: the smtp::MessageSink of one SMTP connection, on top of its shard's spool. It
// turns the session's envelope into the spool's MESSAGE record and tells the connection
// (net::CommitListener) when a message's fdatasync completed so the reply goes out.
#pragma once

#include <vector>

#include "net/smtp/message_sink.h"
#include "net/smtp_connection.h"
#include "spool/shard_spool.h"

namespace tern::ternd {

class SpoolSink : public smtp::MessageSink {
 public:
  SpoolSink(spool::ShardSpool* spool, net::CommitListener* listener)
      : spool_(spool), listener_(listener) {}

  absl::Status CheckAcceptingMail() override;
  absl::StatusOr<uint64_t> BeginMessage(const smtp::EnvelopeView& envelope,
                                        core::ByteBuffer* record) override;
  void CommitMessage(uint64_t queue_id, core::ByteBuffer record,
                     smtp::CommitWaiter* waiter) override;

 private:
  spool::ShardSpool* spool_;
  net::CommitListener* listener_;
  std::vector<spool::RecipientEnvelope> recipients_;  // reused for every message
};

}  // namespace tern::ternd
