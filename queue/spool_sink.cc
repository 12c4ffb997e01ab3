// Implementation of queue/spool_sink.h.
#include "queue/spool_sink.h"

#include <algorithm>
#include <memory>
#include <utility>

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
  if (events_ != nullptr) {
    recipient_addresses_.clear();
    for (const net::smtp::EnvelopeRecipient& r : envelope.recipients) {
      recipient_addresses_.emplace_back(r.address);
    }
  }
  spool::MessageEnvelope stored;
  stored.received_unix_us = absl::ToUnixMicros(absl::Now());
  received_unix_us_ = stored.received_unix_us;
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

std::vector<events::Event> SpoolSink::ReceivedEvents(uint64_t queue_id,
                                                     absl::string_view message_id) const {
  std::vector<events::Event> received;
  if (events_ == nullptr) return received;
  received.reserve(recipient_addresses_.size());
  const absl::Time now = absl::Now();
  for (const std::string& address : recipient_addresses_) {
    events::Event& event = received.emplace_back();
    event.type = events::EventType::kReceived;
    event.event_id = events::NewEventId();
    event.queue_id = queue_id;
    event.message_id = std::string(message_id);
    event.sender = sender_;
    event.recipient = address;
    event.egress_pool = pool_;
    event.event_time = now;
    event.received_time = absl::FromUnixMicros(received_unix_us_);
  }
  return received;
}

namespace {

// The spool's commit and the journal's, under way at once: the reply waits for both, and
// the spool's status decides it (an event the journal could not keep is counted there).
class CommitJoin {
 public:
  explicit CommitJoin(absl::AnyInvocable<void(absl::Status)> done) : done_(std::move(done)) {}
  void SpoolDone(absl::Status status) {
    spool_status_ = std::move(status);
    Arrive();
  }
  void EventsDone() { Arrive(); }

 private:
  void Arrive() {
    DCHECK(waiting_ > 0);
    if (--waiting_ == 0) done_(std::move(spool_status_));
  }

  absl::AnyInvocable<void(absl::Status)> done_;
  absl::Status spool_status_;
  int waiting_ = 2;
};

}  // namespace

void SpoolSink::CommitMessage(uint64_t queue_id, core::ByteBuffer record,
                              net::smtp::CommitWaiter* waiter) {
  net::CommitListener* listener = listener_;
  std::string received_line;
  const absl::string_view body = record.view().substr(std::min(body_offset_, record.size()));
  const absl::string_view message_id =
      log_ != nullptr || events_ != nullptr ? delivery::FindMessageId(body) : absl::string_view();
  if (log_ != nullptr) {
    delivery::DeliveryEvent event;
    event.event = "received";
    event.queue_id = queue_id;
    event.message_id = message_id;
    event.sender = sender_.empty() ? "<>" : absl::string_view(sender_);
    event.recipients = recipient_count_;
    event.size = body.size();
    event.client = client_;
    event.pool = pool_;
    received_line = delivery::FormatDeliveryEvent(event);
  }
  std::vector<events::Event> received = ReceivedEvents(queue_id, message_id);
  delivery::DeliveryLog* log = log_;
  auto committed = [waiter, listener, log, line = std::move(received_line)](absl::Status status) {
    // Logged only once durable: the log never shows a message the spool may not have.
    if (status.ok() && log != nullptr) log->AppendLine(line);
    waiter->OnCommitted(std::move(status));
    listener->OnMessageCommitted();  // may free the connection, this sink and the waiter
  };
  if (received.empty()) {
    spool_->CommitMessage(queue_id, std::move(record), std::move(committed));
    return;
  }
  // The journal's group commit beside the spool's: a 250 means both the message and its
  // events are durable. (Should the spool fail, the 451 follows events of a message that is
  // not kept: at least once means an extra event may come, never a missing one.)
  auto join = std::make_shared<CommitJoin>(std::move(committed));
  events_->Publish(std::move(received), [join] { join->EventsDone(); });
  spool_->CommitMessage(queue_id, std::move(record),
                        [join](absl::Status status) { join->SpoolDone(std::move(status)); });
}

}  // namespace tern::queue
