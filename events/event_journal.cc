// The durable backlog of delivery events (events/event_journal.h): recovery at open, the
// group-commit writer thread, the reader and the cursor.
#include "events/event_journal.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/check.h"
#include "core/log.h"
#include "core/status_macros.h"
#include "events/journal_cursor.h"
#include "events/journal_segment.h"

namespace tern::events {
namespace {

constexpr uint64_t kSegmentBytesMin = kJournalRecordBytesMax;

absl::Status WriteAll(int fd, absl::string_view bytes, uint64_t offset, const std::string& path) {
  while (!bytes.empty()) {
    ssize_t n = ::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return JournalErrnoStatus("pwrite", path, errno);
    if (n == 0) return JournalErrnoStatus("pwrite", path, ENOSPC);
    bytes.remove_prefix(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<EventJournal>> EventJournal::Open(const JournalOptions& options) {
  if (options.directory.empty()) return absl::InvalidArgumentError("event journal: no directory");
  if (options.segment_bytes_max < kSegmentBytesMin) {
    return absl::InvalidArgumentError(
        absl::StrCat("event journal: segment_bytes_max below ", kSegmentBytesMin));
  }
  if (options.max_backlog_bytes < 2 * options.segment_bytes_max) {
    return absl::InvalidArgumentError(
        "event journal: max_backlog_bytes must hold at least two segments");
  }
  if (options.queue_events_max == 0) {
    return absl::InvalidArgumentError("event journal: queue_events_max must be positive");
  }
  if (::mkdir(options.directory.c_str(), 0750) != 0 && errno != EEXIST) {
    return JournalErrnoStatus("mkdir", options.directory, errno);
  }
  std::unique_ptr<EventJournal> journal(new EventJournal(options));
  RETURN_IF_ERROR(journal->Recover());
  journal->writer_ = std::thread([raw = journal.get()] { raw->RunWriter(); });
  return journal;
}

EventJournal::EventJournal(const JournalOptions& options) : options_(options) {}

EventJournal::~EventJournal() {
  {
    absl::MutexLock lock(&queue_mu_);
    stopping_ = true;
  }
  if (writer_.joinable()) writer_.join();
  if (write_fd_ >= 0) ::close(write_fd_);
  CloseReadPosition();
  if (absl::Status synced = SyncCursor(); !synced.ok()) {
    TERN_LOG(kError,
             "event journal: the last acknowledgements are not stored (they will be "
             "sent again): %s",
             synced.ToString());
  }
}

absl::Status EventJournal::Recover() {
  std::string temp = absl::StrCat(options_.directory, "/cursor.tmp");
  ::unlink(temp.c_str());
  absl::StatusOr<uint64_t> cursor = LoadJournalCursor(options_.directory);
  if (!cursor.ok() && !absl::IsDataLoss(cursor.status())) return cursor.status();
  if (!cursor.ok()) {
    TERN_LOG(kWarning, "event journal: %s; sending the whole backlog again",
             cursor.status().message());
  }
  uint64_t acknowledged = cursor.ok() ? *cursor : 0;

  std::vector<uint64_t> firsts;
  DIR* dir = ::opendir(options_.directory.c_str());
  if (dir == nullptr) return JournalErrnoStatus("opendir", options_.directory, errno);
  while (struct dirent* entry = ::readdir(dir)) {
    if (uint64_t first = SegmentFirstSequence(entry->d_name); first != 0) firsts.push_back(first);
  }
  ::closedir(dir);
  std::sort(firsts.begin(), firsts.end());

  durable_cursor_ = acknowledged;
  absl::MutexLock lock(&state_mu_);
  acknowledged_ = acknowledged;
  for (size_t i = 0; i < firsts.size(); ++i) {
    bool newest = i + 1 == firsts.size();
    uint64_t next_first = newest ? 0 : firsts[i + 1];
    std::string path = SegmentPath(options_.directory, firsts[i]);
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return JournalErrnoStatus("open", path, errno);
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      int err = errno;
      ::close(fd);
      return JournalErrnoStatus("fstat", path, err);
    }
    uint64_t size = static_cast<uint64_t>(st.st_size);
    SegmentScanner scanner(fd, 0, size);
    uint64_t expect = firsts[i];
    SegmentScanner::Step step;
    bool out_of_order = false;
    while ((step = scanner.Next()) == SegmentScanner::Step::kRecord) {
      if (scanner.sequence() != expect) {
        out_of_order = true;
        step = SegmentScanner::Step::kCorrupt;
        break;
      }
      ++expect;
    }
    uint64_t good = out_of_order ? scanner.record_offset() : scanner.offset();
    if (step == SegmentScanner::Step::kIoError) {
      ::close(fd);
      return absl::DataLossError(absl::StrCat("event journal ", path, ": ", scanner.error()));
    }
    if (good < size && step != SegmentScanner::Step::kEnd) {  // kEnd: a prefilled tail
      if (newest && step == SegmentScanner::Step::kTorn) {
        TERN_LOG(kWarning, "event journal %s: torn tail, cutting %d bytes at offset %d", path,
                 size - good, good);
      } else {
        uint64_t lost = next_first > expect ? next_first - expect : 0;
        TERN_LOG(kError,
                 "event journal %s: corrupt record at offset %d; %d bytes after it cut, %s "
                 "events lost",
                 path, good, size - good, newest ? "an unknown number of" : absl::StrCat(lost));
        counters_.lost_at_recovery += lost;
      }
      if (::ftruncate(fd, static_cast<off_t>(good)) != 0 || ::fdatasync(fd) != 0) {
        int err = errno;
        ::close(fd);
        return JournalErrnoStatus("ftruncate", path, err);
      }
    }
    ::close(fd);
    segments_[firsts[i]] = Segment{firsts[i], expect - 1, good};
  }

  uint64_t last = 0;
  for (const auto& [first, segment] : segments_) last = std::max(last, segment.last);
  if (acknowledged_ > last && !segments_.empty()) {
    TERN_LOG(kWarning, "event journal: cursor %d beyond the data (last event %d): all acknowledged",
             acknowledged_, last);
  }
  next_sequence_ = std::max(last, acknowledged_) + 1;
  last_durable_ = next_sequence_ - 1;
  // Wholly acknowledged segments go; so does an empty newest one that cannot continue.
  for (auto it = segments_.begin(); it != segments_.end();) {
    bool reusable = std::next(it) == segments_.end() && it->second.last + 1 == next_sequence_ &&
                    it->second.bytes < options_.segment_bytes_max;
    bool empty = it->second.bytes == 0;
    if (!reusable && (it->second.last <= acknowledged_ || empty)) {
      std::string path = SegmentPath(options_.directory, it->first);
      if (::unlink(path.c_str()) != 0) return JournalErrnoStatus("unlink", path, errno);
      it = segments_.erase(it);
    } else {
      ++it;
    }
  }
  if (!segments_.empty()) {
    const Segment& newest = segments_.rbegin()->second;
    if (newest.last + 1 == next_sequence_ && newest.bytes < options_.segment_bytes_max) {
      std::string path = SegmentPath(options_.directory, newest.first);
      write_fd_ = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
      if (write_fd_ < 0) return JournalErrnoStatus("open", path, errno);
      write_segment_ = newest.first;
      write_offset_ = newest.bytes;
    }
  }
  return absl::OkStatus();
}

absl::Status EventJournal::Append(std::vector<Event> events,
                                  std::function<void(absl::Status)> on_durable) {
  PendingAppend pending;
  pending.payloads.reserve(events.size());
  for (const Event& event : events) {
    std::string payload;
    EncodeEvent(event, &payload);
    if (payload.size() > kEventBytesMax) {
      absl::MutexLock lock(&queue_mu_);
      ++rejected_;
      return absl::InvalidArgumentError(
          absl::StrCat("event ", event.event_id, " encodes to ", payload.size(), " bytes"));
    }
    pending.payloads.push_back(std::move(payload));
  }
  if (!events.empty()) pending.first_event_time = events.front().event_time;
  pending.on_durable = std::move(on_durable);
  absl::MutexLock lock(&queue_mu_);
  if (!failed_.ok()) return failed_;
  if (stopping_) return absl::FailedPreconditionError("event journal: stopping");
  if (queued_events_ + events.size() > options_.queue_events_max) {
    ++rejected_;
    return absl::ResourceExhaustedError("event journal: the writer's queue is full");
  }
  queued_events_ += events.size();
  queue_.push_back(std::move(pending));
  return absl::OkStatus();
}

void EventJournal::set_durable_listener(std::function<void()> listener) {
  absl::MutexLock lock(&queue_mu_);  // published to the writer by its next Await
  durable_listener_ = std::move(listener);
}

void EventJournal::RunWriter() {
  while (true) {
    std::deque<PendingAppend> group;
    bool stop;
    std::function<void()> listener;
    {
      absl::MutexLock lock(&queue_mu_);
      queue_mu_.Await(absl::Condition(
          +[](EventJournal* self)
               ABSL_NO_THREAD_SAFETY_ANALYSIS { return !self->queue_.empty() || self->stopping_; },
          this));
      // A short linger gathers more appends into the group: fewer fdatasyncs beside the
      // spool's, for at most group_linger more latency.
      if (options_.group_linger > absl::ZeroDuration()) {
        queue_mu_.AwaitWithTimeout(absl::Condition(
                                       +[](EventJournal* self) ABSL_NO_THREAD_SAFETY_ANALYSIS {
                                         return self->queued_events_ >=
                                                    self->options_.group_events_target ||
                                                self->stopping_;
                                       },
                                       this),
                                   options_.group_linger);
      }
      group.swap(queue_);
      queued_events_ = 0;
      stop = stopping_;
      listener = durable_listener_;
    }
    if (group.empty() && stop) return;
    if (WriteGroup(std::move(group)) && listener) listener();
  }
}

bool EventJournal::WriteGroup(std::deque<PendingAppend> group) {
  absl::Status status;
  {
    absl::MutexLock lock(&queue_mu_);
    status = failed_;
  }
  uint64_t before = next_sequence_ - 1;
  std::string records;
  uint64_t sequence = next_sequence_;
  for (const PendingAppend& pending : group) {
    for (const std::string& payload : pending.payloads) {
      if (!status.ok()) break;
      uint64_t record_bytes = kJournalRecordHeaderBytes + payload.size();
      if (write_fd_ >= 0 && write_offset_ + records.size() > 0 &&
          write_offset_ + records.size() + record_bytes > options_.segment_bytes_max) {
        if (!records.empty()) status = WriteRecords(records, sequence - 1);
        records.clear();
        if (!status.ok()) break;
        ::close(write_fd_);
        write_fd_ = -1;
      }
      if (write_fd_ < 0) {
        status = StartSegment(sequence);
        if (!status.ok()) break;
      }
      AppendJournalRecord(sequence, payload, &records);
      ++sequence;
    }
  }
  if (status.ok() && !records.empty()) status = WriteRecords(records, sequence - 1);
  {
    absl::MutexLock lock(&state_mu_);
    counters_.appended += next_sequence_ - 1 - before;
    // The backlog was empty: its oldest event is this group's first.
    if (status.ok() && !oldest_known_ && acknowledged_ >= before && last_durable_ > before) {
      for (const PendingAppend& pending : group) {
        if (pending.payloads.empty()) continue;
        oldest_known_ = true;
        oldest_time_ = pending.first_event_time;
        break;
      }
    }
  }
  if (!status.ok()) TERN_LOG(kError, "event journal: %s", status.ToString());
  for (PendingAppend& pending : group) {
    if (pending.on_durable) pending.on_durable(status);
  }
  if (status.ok()) EnforceBacklogBound();
  return status.ok();
}

absl::Status EventJournal::WriteRecords(const std::string& records, uint64_t last) {
  std::string path = SegmentPath(options_.directory, write_segment_);
  absl::Status status = WriteAll(write_fd_, records, write_offset_, path);
  if (status.ok() && options_.sync && ::fdatasync(write_fd_) != 0) {
    status = JournalErrnoStatus("fdatasync", path, errno);
  }
  absl::MutexLock lock(&state_mu_);
  ++counters_.syncs;
  if (!status.ok()) {
    ++counters_.write_errors;
    // Undo the partial write so that the segment ends after its last durable record. After a
    // failed fdatasync the page cache cannot be trusted (the kernel may have dropped the
    // dirty pages), so the journal refuses further appends.
    bool undone = ::ftruncate(write_fd_, static_cast<off_t>(write_offset_)) == 0;
    if (!undone || absl::StrContains(status.message(), "fdatasync")) {
      absl::MutexLock queue_lock(&queue_mu_);
      failed_ = status;
    }
    return status;
  }
  write_offset_ += records.size();
  Segment& segment = segments_[write_segment_];
  segment.bytes = write_offset_;
  segment.last = last;
  last_durable_ = last;
  next_sequence_ = last + 1;
  return absl::OkStatus();
}

absl::Status EventJournal::StartSegment(uint64_t first) {
  std::string path = SegmentPath(options_.directory, first);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return JournalErrnoStatus("open", path, errno);
  if (options_.prefill) {
    // Zeros to the full size, made durable once: the group commits' fdatasyncs then write
    // data blocks only. Without the room, the segment grows as it is written instead.
    const std::string zeros(size_t{1} << 20, '\0');
    absl::Status filled;
    for (uint64_t offset = 0; filled.ok() && offset < options_.segment_bytes_max;
         offset += zeros.size()) {
      const size_t bytes = static_cast<size_t>(
          std::min<uint64_t>(zeros.size(), options_.segment_bytes_max - offset));
      filled = WriteAll(fd, absl::string_view(zeros).substr(0, bytes), offset, path);
    }
    if (filled.ok() && options_.sync && ::fdatasync(fd) != 0) {
      filled = JournalErrnoStatus("fdatasync", path, errno);
    }
    if (!filled.ok()) {
      TERN_LOG(kWarning, "event journal: %s; the segment is not prefilled", filled.ToString());
      if (::ftruncate(fd, 0) != 0) {
        int err = errno;
        ::close(fd);
        return JournalErrnoStatus("ftruncate", path, err);
      }
    }
  }
  if (absl::Status synced = SyncDirectory(options_.directory); !synced.ok()) {
    ::close(fd);
    ::unlink(path.c_str());
    return synced;
  }
  absl::MutexLock lock(&state_mu_);
  segments_[first] = Segment{first, first - 1, 0};
  write_fd_ = fd;
  write_segment_ = first;
  write_offset_ = 0;
  return absl::OkStatus();
}

void EventJournal::EnforceBacklogBound() {
  std::optional<uint64_t> now_oldest;
  {
    absl::MutexLock lock(&state_mu_);
    uint64_t total = 0;
    for (const auto& [first, segment] : segments_) total += segment.bytes;
    bool dropped = false;
    while (total > options_.max_backlog_bytes && segments_.size() > 1) {
      const Segment oldest = segments_.begin()->second;
      total -= oldest.bytes;
      std::string path = SegmentPath(options_.directory, oldest.first);
      if (::unlink(path.c_str()) != 0) {
        TERN_LOG(kError, "event journal: unlink %s: %s", path, std::strerror(errno));
      }
      uint64_t from = std::max(oldest.first, acknowledged_ + 1);
      uint64_t lost = oldest.last >= from ? oldest.last - from + 1 : 0;
      counters_.dropped_by_size += lost;
      TERN_LOG(kWarning, "event journal: backlog above %d bytes: dropped %s (%d events)",
               options_.max_backlog_bytes, path, lost);
      segments_.erase(segments_.begin());
      dropped = dropped || lost > 0;
    }
    if (!dropped) return;
    // What was the oldest unacknowledged event went: the new oldest starts the first segment.
    oldest_known_ = false;
    now_oldest = segments_.begin()->first;
  }
  // Read the new first segment's first record (a fresh descriptor: the reader's is its own).
  std::string path = SegmentPath(options_.directory, *now_oldest);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  SegmentScanner scanner(fd, 0, kJournalRecordBytesMax);
  if (scanner.Next() == SegmentScanner::Step::kRecord) {
    absl::StatusOr<Event> event = DecodeEvent(scanner.payload());
    absl::MutexLock lock(&state_mu_);
    if (event.ok() && !oldest_known_ && acknowledged_ < scanner.sequence()) {
      oldest_known_ = true;
      oldest_time_ = event->event_time;
    }
  }
  ::close(fd);
}

void EventJournal::CloseReadPosition() {
  if (read_.fd >= 0) ::close(read_.fd);
  read_ = ReadPosition{};
}

absl::StatusOr<std::vector<JournalEvent>> EventJournal::Read(uint64_t after, size_t events_max) {
  return ReadEvents(after, events_max, /*advance=*/true);
}

absl::StatusOr<std::vector<JournalEvent>> EventJournal::ReadEvents(uint64_t after,
                                                                   size_t events_max,
                                                                   bool advance) {
  std::vector<JournalEvent> result;
  // Where the first event returned starts, for a read that must not move the position.
  std::optional<std::pair<uint64_t, uint64_t>> before_first;
  const uint64_t asked_after = after;
  // Each pass reads one segment; a segment dropped meanwhile is passed over.
  while (result.empty() && events_max > 0) {
    Segment segment;
    {
      absl::MutexLock lock(&state_mu_);
      if (after >= last_durable_) break;
      auto it = segments_.upper_bound(after + 1);
      if (it != segments_.begin()) --it;
      while (it != segments_.end() && it->second.last <= after) ++it;
      if (it == segments_.end()) break;
      segment = it->second;
    }
    if (read_.segment != segment.first) {
      CloseReadPosition();
      std::string path = SegmentPath(options_.directory, segment.first);
      int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0 && errno == ENOENT) {
        after = std::max(after, segment.last);  // dropped by the backlog bound just now
        continue;
      }
      if (fd < 0) return JournalErrnoStatus("open", path, errno);
      read_ = ReadPosition{segment.first, fd, 0, segment.first - 1};
    }
    if (read_.sequence > after) {  // rewound: scan the segment again from its start
      read_.offset = 0;
      read_.sequence = segment.first - 1;
    }
    SegmentScanner scanner(read_.fd, read_.offset, segment.bytes);
    SegmentScanner::Step step;
    while (result.size() < events_max && (step = scanner.Next()) == SegmentScanner::Step::kRecord) {
      std::pair<uint64_t, uint64_t> previous = {scanner.record_offset(), read_.sequence};
      read_.offset = scanner.offset();
      read_.sequence = scanner.sequence();
      if (scanner.sequence() <= after) continue;
      if (result.empty()) before_first = previous;
      absl::StatusOr<Event> event = DecodeEvent(scanner.payload());
      if (!event.ok()) {
        step = SegmentScanner::Step::kCorrupt;
        break;
      }
      result.push_back(JournalEvent{scanner.sequence(), *std::move(event)});
    }
    if (result.size() < events_max && step != SegmentScanner::Step::kEnd) {
      // Durable data that no longer reads back: the rest of this segment is lost.
      TERN_LOG(kError,
               "event journal %s: unreadable at offset %d (%s); skipping to the next segment",
               SegmentPath(options_.directory, segment.first), read_.offset, scanner.error());
      absl::MutexLock lock(&state_mu_);
      counters_.lost_at_recovery += segment.last - read_.sequence;
    }
    after = std::max(after, segment.last);
    if (!result.empty()) break;
  }
  if (!advance && before_first.has_value()) {
    // The next Read starts at the first event returned here, not after it.
    read_.offset = before_first->first;
    read_.sequence = before_first->second;
  }
  if (!result.empty()) {
    absl::MutexLock lock(&state_mu_);
    if (asked_after == acknowledged_) {
      oldest_known_ = true;
      oldest_time_ = result.front().event.event_time;
    }
  }
  return result;
}

absl::Status EventJournal::Acknowledge(uint64_t sequence) {
  {
    absl::MutexLock lock(&state_mu_);
    if (sequence <= acknowledged_) return absl::OkStatus();
    if (sequence > last_durable_) {
      return absl::InvalidArgumentError(absl::StrCat("event journal: acknowledging ", sequence,
                                                     " beyond the last event ", last_durable_));
    }
    uint64_t from = acknowledged_;
    if (!segments_.empty()) from = std::max(from, segments_.begin()->first - 1);
    counters_.acknowledged += sequence > from ? sequence - from : 0;
    acknowledged_ = sequence;
    // The next Read (the sender's, right after) notes the new oldest event's time.
    oldest_known_ = false;
  }
  if (absl::Now() - cursor_stored_at_ < options_.cursor_sync_interval) return absl::OkStatus();
  return SyncCursor();
}

absl::Status EventJournal::SyncCursor() {
  uint64_t sequence;
  {
    absl::MutexLock lock(&state_mu_);
    sequence = acknowledged_;
  }
  if (sequence <= durable_cursor_) return absl::OkStatus();
  RETURN_IF_ERROR(StoreJournalCursor(options_.directory, sequence));
  durable_cursor_ = sequence;
  cursor_stored_at_ = absl::Now();
  absl::MutexLock lock(&state_mu_);
  // Segments wholly behind the durable cursor go, never the newest (the writer's).
  while (segments_.size() > 1 && segments_.begin()->second.last <= sequence) {
    std::string path = SegmentPath(options_.directory, segments_.begin()->first);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      TERN_LOG(kError, "event journal: unlink %s: %s", path, std::strerror(errno));
    }
    segments_.erase(segments_.begin());
  }
  return absl::OkStatus();
}

void EventJournal::CountDroppedByAge(uint64_t events) {
  absl::MutexLock lock(&state_mu_);
  counters_.dropped_by_age += events;
}

uint64_t EventJournal::acknowledged() const {
  absl::MutexLock lock(&state_mu_);
  return acknowledged_;
}

uint64_t EventJournal::last_durable_sequence() const {
  absl::MutexLock lock(&state_mu_);
  return last_durable_;
}

JournalMetrics EventJournal::metrics() const {
  JournalMetrics metrics;
  {
    absl::MutexLock lock(&state_mu_);
    metrics = counters_;
    uint64_t floor = acknowledged_;
    if (!segments_.empty()) floor = std::max(floor, segments_.begin()->first - 1);
    metrics.backlog_events = last_durable_ > floor ? last_durable_ - floor : 0;
    for (const auto& [first, segment] : segments_) metrics.backlog_bytes += segment.bytes;
    if (oldest_known_ && metrics.backlog_events > 0) {
      metrics.oldest_unacknowledged_age =
          std::max(absl::ZeroDuration(), absl::Now() - oldest_time_);
    }
  }
  absl::MutexLock lock(&queue_mu_);
  metrics.rejected = rejected_;
  return metrics;
}

}  // namespace tern::events
