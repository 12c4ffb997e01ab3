// SpoolSink: the net::smtp::MessageSink of one SMTP connection, on top of its shard's spool. It
// turns the session's envelope into the spool's MESSAGE record, tells the connection
// (net::CommitListener) when a message's fdatasync completed so the reply goes out, and
// writes the "received" event of every acknowledged message to the delivery log and, with a
// webhook, to the event journal (one per recipient, durable before the reply). With egress
// pools configured it also has the message's pool decided (delivery/message_pool_resolver.h)
// once the header section has arrived, and put into the envelope.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "delivery/delivery_log.h"
#include "delivery/message_pool_resolver.h"
#include "events/event_publisher.h"
#include "net/smtp/message_sink.h"
#include "net/smtp_connection.h"
#include "spool/shard_spool.h"

namespace tern::queue {

class SpoolSink : public net::smtp::MessageSink {
 public:
  // `log` may be null (no delivery log). `pools`: the shard's resolver in force, read at
  // each message's start (SIGHUP may replace it between two messages of a session; the
  // message keeps the one it started with); it must outlive the sink, and may be null or
  // hold null (no egress pools). `events` may be null or disabled (no webhook).
  SpoolSink(spool::ShardSpool* spool, delivery::DeliveryLog* log, net::CommitListener* listener,
            const std::shared_ptr<const delivery::MessagePoolResolver>* pools = nullptr,
            events::EventPublisher* events = nullptr)
      : spool_(spool),
        log_(log),
        listener_(listener),
        pools_in_force_(pools),
        events_(events != nullptr && events->enabled() ? events : nullptr) {}

  absl::Status CheckAcceptingMail() override;
  absl::StatusOr<uint64_t> BeginMessage(const net::smtp::EnvelopeView& envelope,
                                        core::ByteBuffer* record) override;
  bool WantsHeaderSection() const override {
    return message_pools_ != nullptr && message_pools_->active();
  }
  absl::Status OnHeaderSection(core::ByteBuffer* record, size_t body_begin,
                               size_t header_end) override;
  void CommitMessage(uint64_t queue_id, core::ByteBuffer record,
                     net::smtp::CommitWaiter* waiter) override;

 private:
  spool::ShardSpool* spool_;
  delivery::DeliveryLog* log_;
  // The message's "received" events, one per recipient (empty without a webhook).
  std::vector<events::Event> ReceivedEvents(uint64_t queue_id, absl::string_view message_id) const;

  net::CommitListener* listener_;
  const std::shared_ptr<const delivery::MessagePoolResolver>* pools_in_force_;
  events::EventPublisher* events_;  // null: no webhook
  // The resolver of the message being received (taken from *pools_in_force_ at its start).
  std::shared_ptr<const delivery::MessagePoolResolver> message_pools_;
  std::string auth_pool_;  // the message's AUTH user's pool, for OnHeaderSection
  // The message being received, for its "received" log line.
  size_t body_offset_ = 0;  // where the body starts in the record
  std::string sender_;
  std::string client_;
  std::string pool_;  // its egress pool, once the header section decided it ("" none)
  int recipient_count_ = 0;
  int64_t received_unix_us_ = 0;
  std::vector<std::string> recipient_addresses_;      // for the events (kept only with a webhook)
  std::vector<spool::RecipientEnvelope> recipients_;  // reused for every message
};

}  // namespace tern::queue
