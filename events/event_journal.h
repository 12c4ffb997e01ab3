// EventJournal: the durable backlog of delivery events between the shards that produce them
// and the webhook sender that posts them. Segment files of checksummed records
// (events/journal_segment.h) appended by one writer thread with group commit (every append
// waiting when a write starts goes out in one write and one fdatasync), a durable cursor of
// what the receiver acknowledged (events/journal_cursor.h), and a bounded size: mail never
// waits for the webhook, so at `max_backlog_bytes` the oldest unacknowledged segment is
// dropped and its events counted.
//
//   events::JournalOptions options;
//   options.directory = "/var/spool/tern/events";
//   ASSIGN_OR_RETURN(auto journal, events::EventJournal::Open(options));
//   // Any thread (a shard): never blocks; ResourceExhausted when the writer's queue is full.
//   absl::Status queued = journal->Append(std::move(events), [](absl::Status durable) { ... });
//   // The one reader (the webhook sender's thread):
//   ASSIGN_OR_RETURN(auto batch, journal->Read(journal->acknowledged(), 100));
//   ... post batch ...
//   RETURN_IF_ERROR(journal->Acknowledge(batch.back().sequence));
//   journal->metrics().backlog_events;  // for /metrics
//   journal.reset();  // writes what was queued, then stops the writer thread
//
// Threads: Append from any thread; the on_durable callbacks and the durable listener run on
// the writer thread (keep them short: hand over to the caller's loop). Read, Acknowledge,
// SyncCursor and CountDroppedByAge from one reader thread at a time. metrics() from anywhere.
//
// Recovery at Open: a torn last record of the newest segment is cut (logged); a corrupt
// record elsewhere loses the rest of its segment, logged with the number of events lost (the
// next segment's name says where they end), and counted in metrics().lost_at_recovery. An
// error would stop the daemon, and mail must not wait for its notifications. A cursor
// beyond the data (segments removed by hand) means everything is acknowledged; new events
// continue after it, so sequences never repeat.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "events/event.h"

namespace tern::events {

struct JournalOptions {
  std::string directory;  // created if missing (its parent must exist)
  // A segment is closed and a new one started beyond this size; a segment is what
  // acknowledgement deletes and the backlog bound drops, so it is also their granularity.
  uint64_t segment_bytes_max = uint64_t{8} << 20;
  // The backlog's bound on disk (at least 2 segments): beyond it the oldest segment goes.
  uint64_t max_backlog_bytes = uint64_t{1} << 30;
  // Events queued for the writer and not yet written; beyond it Append refuses at once.
  size_t queue_events_max = 100'000;
  // Once woken by an append, the writer waits up to group_linger for group_events_target
  // events before it writes: fewer, larger group commits (0: write at once).
  absl::Duration group_linger = absl::Milliseconds(1);
  size_t group_events_target = 512;
  // The durable cursor is written at most this often (each write is a file replaced and two
  // fsyncs): acknowledgements in between are resent after a crash. 0: at every one.
  absl::Duration cursor_sync_interval = absl::Milliseconds(200);
  // Zero-fill each new segment to segment_bytes_max before its first record (journal_segment.h).
  bool prefill = true;
  // Test hook: false skips fdatasync (syncs are still counted).
  bool sync = true;
};

// A journaled event and its sequence (the journal's position, starting at 1).
struct JournalEvent {
  uint64_t sequence = 0;
  Event event;
};

struct JournalMetrics {
  uint64_t backlog_events = 0;                                      // durable and not acknowledged
  uint64_t backlog_bytes = 0;                                       // the segment files' size
  absl::Duration oldest_unacknowledged_age = absl::ZeroDuration();  // 0: backlog empty
  uint64_t appended = 0;
  uint64_t acknowledged = 0;  // events the cursor passed: posted, or given up for their age
  uint64_t dropped_by_size = 0;
  uint64_t dropped_by_age = 0;  // counted by the sender (CountDroppedByAge)
  uint64_t lost_at_recovery = 0;
  uint64_t rejected = 0;  // Append refused: queue full or event too large
  uint64_t syncs = 0;     // fdatasyncs of segment files (group commits)
  uint64_t write_errors = 0;
};

class EventJournal {
 public:
  static absl::StatusOr<std::unique_ptr<EventJournal>> Open(const JournalOptions& options);
  // Writes what is queued (callbacks run), then joins the writer thread.
  ~EventJournal();
  EventJournal(const EventJournal&) = delete;
  EventJournal& operator=(const EventJournal&) = delete;

  // Queues `events` for the writer; `on_durable` runs once on the writer thread when they
  // are durable (OK) or failed to be (the write's error). Refused at once, `on_durable` not
  // called: ResourceExhausted when the queue holds queue_events_max events, InvalidArgument
  // for an event that encodes larger than kEventBytesMax, the journal's error after a failed
  // write could not be undone.
  absl::Status Append(std::vector<Event> events, std::function<void(absl::Status)> on_durable);

  // Called on the writer thread after each group commit (the sender's wake-up). Set before
  // the first Append.
  void set_durable_listener(std::function<void()> listener);

  // Up to `events_max` durable events with a sequence above `after`, in order (fewer at a
  // segment's end; none when there is nothing new). Events of dropped segments are skipped.
  absl::StatusOr<std::vector<JournalEvent>> Read(uint64_t after, size_t events_max);
  // Moves the cursor to `sequence` (everything up to it was delivered or given up; at most
  // the last durable one). The cursor file is written (SyncCursor) at most once per
  // cursor_sync_interval: a crash sends again what was acknowledged since (at least once).
  absl::Status Acknowledge(uint64_t sequence);
  // Makes the cursor durable if it moved, then deletes the segments wholly at or below it
  // (the sender calls it when it has nothing to post; the destructor does too).
  absl::Status SyncCursor();
  // The sender gave up `events` events for their age (they are acknowledged with the rest).
  void CountDroppedByAge(uint64_t events);

  uint64_t acknowledged() const;
  uint64_t last_durable_sequence() const;
  JournalMetrics metrics() const;

 private:
  struct Segment {
    uint64_t first = 0;  // the sequence in its name
    uint64_t last = 0;   // its last record's sequence; first - 1 while empty
    uint64_t bytes = 0;  // durable bytes
  };
  struct PendingAppend {
    std::vector<std::string> payloads;  // encoded by Append, on the caller's thread
    absl::Time first_event_time;
    std::function<void(absl::Status)> on_durable;
  };
  struct ReadPosition {
    uint64_t segment = 0;  // first sequence of the segment `fd` reads; 0: none open
    int fd = -1;
    uint64_t offset = 0;  // where the record after `sequence` starts
    uint64_t sequence = 0;
  };

  explicit EventJournal(const JournalOptions& options);
  absl::Status Recover();
  // Read; with `advance` false the next read starts at the first event returned.
  absl::StatusOr<std::vector<JournalEvent>> ReadEvents(uint64_t after, size_t events_max,
                                                       bool advance);
  void RunWriter();
  // Writes and syncs one group; true when it all became durable.
  bool WriteGroup(std::deque<PendingAppend> group);
  // Appends `records` (ending with sequence `last`) to the open segment and syncs it.
  absl::Status WriteRecords(const std::string& records, uint64_t last)
      ABSL_LOCKS_EXCLUDED(state_mu_);
  absl::Status StartSegment(uint64_t first) ABSL_LOCKS_EXCLUDED(state_mu_);
  // Drops the oldest segments while the backlog is above max_backlog_bytes.
  void EnforceBacklogBound() ABSL_LOCKS_EXCLUDED(state_mu_);
  void CloseReadPosition();

  const JournalOptions options_;

  mutable absl::Mutex queue_mu_;
  std::deque<PendingAppend> queue_ ABSL_GUARDED_BY(queue_mu_);
  size_t queued_events_ ABSL_GUARDED_BY(queue_mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(queue_mu_) = false;
  absl::Status failed_ ABSL_GUARDED_BY(queue_mu_);
  uint64_t rejected_ ABSL_GUARDED_BY(queue_mu_) = 0;

  mutable absl::Mutex state_mu_;
  std::map<uint64_t, Segment> segments_ ABSL_GUARDED_BY(state_mu_);
  uint64_t acknowledged_ ABSL_GUARDED_BY(state_mu_) = 0;
  uint64_t last_durable_ ABSL_GUARDED_BY(state_mu_) = 0;
  bool oldest_known_ ABSL_GUARDED_BY(state_mu_) = false;
  absl::Time oldest_time_ ABSL_GUARDED_BY(state_mu_);
  JournalMetrics counters_ ABSL_GUARDED_BY(state_mu_);
  std::function<void()> durable_listener_ ABSL_GUARDED_BY(queue_mu_);

  // The writer thread's own.
  int write_fd_ = -1;
  uint64_t write_segment_ = 0;  // first sequence of the segment write_fd_ appends to
  uint64_t write_offset_ = 0;
  uint64_t next_sequence_ = 1;

  // The reader's own.
  ReadPosition read_;
  uint64_t durable_cursor_ = 0;  // what the cursor file says
  absl::Time cursor_stored_at_ = absl::InfinitePast();

  std::thread writer_;
};

}  // namespace tern::events
