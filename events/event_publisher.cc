// Implementation of events/event_publisher.h.
#include "events/event_publisher.h"

#include <memory>
#include <utility>

#include "core/check.h"
#include "core/log.h"

namespace tern::events {

EventPublisher::EventPublisher(core::Loop* loop, EventJournal* journal)
    : loop_(loop), journal_(journal) {
  CHECK(loop_ != nullptr);
}

void EventPublisher::Publish(std::vector<Event> events, absl::AnyInvocable<void()> then) {
  if (journal_ == nullptr || events.empty()) {
    then();
    return;
  }
  const size_t count = events.size();
  // The journal's callback is a std::function (copyable); the continuation is not.
  auto shared_then = std::make_shared<absl::AnyInvocable<void()>>(std::move(then));
  std::shared_ptr<core::Mailbox> mailbox = loop_->mailbox();
  ++pending_;
  absl::Status queued = journal_->Append(
      std::move(events), [this, mailbox, shared_then, count](absl::Status durable) {
        mailbox->Post([this, shared_then, count, durable = std::move(durable)] {
          Answered(count, durable);
          (*shared_then)();
        });
      });
  if (!queued.ok()) {
    Answered(count, queued);
    (*shared_then)();
  }
}

void EventPublisher::Answered(size_t count, const absl::Status& status) {
  DCHECK(pending_ > 0);
  --pending_;
  if (status.ok()) {
    published_.fetch_add(count, std::memory_order_relaxed);
    return;
  }
  const uint64_t lost = lost_.fetch_add(count, std::memory_order_relaxed) + count;
  // A failing disk fails every batch: one line a second says so.
  const absl::Time now = loop_->now();
  if (now - last_loss_logged_ < absl::Seconds(1)) return;
  last_loss_logged_ = now;
  TERN_LOG(kError,
           "events: %d event(s) not journaled (%d lost so far), the webhook will not get "
           "them: %s",
           count, lost, status.ToString());
}

}  // namespace tern::events
