// EventPublisher: one shard's way into the event journal. Publish() hands a batch of events to
// the journal (events/event_journal.h) and runs the caller's continuation on the shard's loop
// once they are durable, so the caller can make its own state durable only after its events
// are (a crash in between repeats an event, never loses one: at least once). When the journal
// refuses or fails the batch, the events are counted as lost, logged, and the continuation
// runs all the same: mail never waits for its notifications beyond one group commit.
//
//   events::EventPublisher publisher(loop, journal);  // journal null: events are off
//   publisher.Publish(std::move(batch), [this] { RecordResults(); });
//
// Loop thread only, except the counters (relaxed atomics, read by /metrics).
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/time/time.h"
#include "core/loop.h"
#include "events/event.h"
#include "events/event_journal.h"

namespace tern::events {

class EventPublisher {
 public:
  // `journal` may be null (no --webhook): Publish then runs `then` at once.
  EventPublisher(core::Loop* loop, EventJournal* journal);
  EventPublisher(const EventPublisher&) = delete;
  EventPublisher& operator=(const EventPublisher&) = delete;

  bool enabled() const { return journal_ != nullptr; }
  // Appends `events` (may be empty) and runs `then` on the loop once they are durable or
  // given up. `then` runs inline when there is nothing to wait for; never when the loop is
  // gone before the journal answers (shutdown: the loop waits for its work first).
  void Publish(std::vector<Event> events, absl::AnyInvocable<void()> then);

  // Events made durable, and events lost (the journal refused or failed to write them).
  uint64_t published() const { return published_.load(std::memory_order_relaxed); }
  uint64_t lost() const { return lost_.load(std::memory_order_relaxed); }
  // Batches handed to the journal and not answered yet.
  uint64_t pending() const { return pending_; }

 private:
  void Answered(size_t count, const absl::Status& status);

  core::Loop* const loop_;
  EventJournal* const journal_;
  uint64_t pending_ = 0;
  absl::Time last_loss_logged_ = absl::InfinitePast();
  std::atomic<uint64_t> published_{0};
  std::atomic<uint64_t> lost_{0};
};

}  // namespace tern::events
