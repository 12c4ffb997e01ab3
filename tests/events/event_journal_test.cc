// The event journal on real files: order, group commit, cursor, torn tails, the backlog
// bound and the deletion of acknowledged segments.
#include "events/event_journal.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "events/journal_cursor.h"
#include "events/journal_segment.h"
#include "events_test_util.h"
#include "gtest/gtest.h"

namespace tern::events {
namespace {

std::unique_ptr<EventJournal> OpenJournal(const JournalOptions& options) {
  absl::StatusOr<std::unique_ptr<EventJournal>> journal = EventJournal::Open(options);
  EXPECT_TRUE(journal.ok()) << journal.status();
  return journal.ok() ? *std::move(journal) : nullptr;
}

JournalOptions Options(const std::string& directory) {
  JournalOptions options;
  options.directory = directory;
  return options;
}

std::vector<JournalEvent> ReadAll(EventJournal* journal, uint64_t after) {
  std::vector<JournalEvent> all;
  while (true) {
    absl::StatusOr<std::vector<JournalEvent>> batch = journal->Read(after, 64);
    EXPECT_TRUE(batch.ok()) << batch.status();
    if (!batch.ok() || batch->empty()) return all;
    after = batch->back().sequence;
    for (JournalEvent& e : *batch) all.push_back(std::move(e));
  }
}

TEST(EventJournal, ReadsInAppendOrder) {
  ScratchDir scratch;
  const std::string& dir = scratch.path();
  auto journal = OpenJournal(Options(dir));
  std::vector<Event> appended;
  for (int group = 0; group < 5; ++group) {
    std::vector<Event> events;
    for (int i = 0; i < 3; ++i) events.push_back(TestEvent(group * 3 + i));
    appended.insert(appended.end(), events.begin(), events.end());
    ASSERT_TRUE(AppendAndWait(journal.get(), events).ok());
  }
  std::vector<JournalEvent> read = ReadAll(journal.get(), 0);
  ASSERT_EQ(read.size(), appended.size());
  for (size_t i = 0; i < read.size(); ++i) {
    EXPECT_EQ(read[i].sequence, i + 1);
    EXPECT_EQ(read[i].event, appended[i]);
  }
  EXPECT_EQ(ReadAll(journal.get(), 7).front().sequence, 8u);
  EXPECT_EQ(journal->metrics().appended, 15u);
  EXPECT_EQ(journal->metrics().backlog_events, 15u);
}

// The first group's callback holds the writer; every append made meanwhile waits in the
// queue and goes out with the next fdatasync: 1 + 1 syncs for 1 + 500 appends (without the
// linger, which could also take some of them into the first group).
TEST(EventJournal, GroupCommitsManyAppendsWithOneSync) {
  ScratchDir scratch;
  const std::string& dir = scratch.path();
  JournalOptions options = Options(dir);
  options.group_linger = absl::ZeroDuration();
  auto journal = OpenJournal(options);
  absl::Notification release;
  std::atomic<int> durable{0};
  ASSERT_TRUE(journal
                  ->Append({TestEvent(0)},
                           [&](absl::Status s) {
                             release.WaitForNotification();
                             durable += s.ok();
                           })
                  .ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 5; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        ASSERT_TRUE(
            journal->Append({TestEvent(t * 100 + i)}, [&](absl::Status s) { durable += s.ok(); })
                .ok());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  release.Notify();
  while (durable.load() < 501) absl::SleepFor(absl::Milliseconds(1));
  JournalMetrics metrics = journal->metrics();
  EXPECT_EQ(metrics.appended, 501u);
  EXPECT_EQ(metrics.syncs, 2u);
}

TEST(EventJournal, FullQueueRefusesAtOnce) {
  ScratchDir scratch;
  const std::string& dir = scratch.path();
  JournalOptions options = Options(dir);
  options.queue_events_max = 10;
  auto journal = OpenJournal(options);
  absl::Notification release, first_done;
  ASSERT_TRUE(journal
                  ->Append({TestEvent(0)},
                           [&](absl::Status) {
                             release.WaitForNotification();
                             first_done.Notify();
                           })
                  .ok());
  absl::SleepFor(absl::Milliseconds(50));  // the writer takes the first group
  std::vector<Event> ten;
  for (int i = 0; i < 10; ++i) ten.push_back(TestEvent(i));
  EXPECT_TRUE(journal->Append(ten, nullptr).ok());
  absl::Status refused = journal->Append({TestEvent(11)}, nullptr);
  EXPECT_TRUE(absl::IsResourceExhausted(refused)) << refused;
  EXPECT_EQ(journal->metrics().rejected, 1u);
  release.Notify();
  first_done.WaitForNotification();
}

TEST(EventJournal, CursorPersistsAcrossReopen) {
  ScratchDir scratch;
  const std::string& dir = scratch.path();
  std::vector<Event> events;
  for (int i = 0; i < 10; ++i) events.push_back(TestEvent(i));
  {
    auto journal = OpenJournal(Options(dir));
    ASSERT_TRUE(AppendAndWait(journal.get(), events).ok());
    ASSERT_TRUE(journal->Acknowledge(4).ok());
    EXPECT_FALSE(journal->Acknowledge(11).ok());
  }
  auto journal = OpenJournal(Options(dir));
  EXPECT_EQ(journal->acknowledged(), 4u);
  EXPECT_EQ(journal->metrics().backlog_events, 6u);
  std::vector<JournalEvent> rest = ReadAll(journal.get(), journal->acknowledged());
  ASSERT_EQ(rest.size(), 6u);
  EXPECT_EQ(rest.front().sequence, 5u);
  EXPECT_EQ(rest.front().event, events[4]);
  ASSERT_TRUE(AppendAndWait(journal.get(), {TestEvent(99)}).ok());
  EXPECT_EQ(journal->last_durable_sequence(), 11u);
  EXPECT_GT(journal->metrics().oldest_unacknowledged_age, absl::ZeroDuration());
}

TEST(EventJournal, CursorBeyondTheDataMeansAllAcknowledged) {
  ScratchDir scratch;
  const std::string& dir = scratch.path();
  {
    auto journal = OpenJournal(Options(dir));
    ASSERT_TRUE(AppendAndWait(journal.get(), {TestEvent(1), TestEvent(2)}).ok());
    ASSERT_TRUE(journal->Acknowledge(2).ok());
    ASSERT_TRUE(AppendAndWait(journal.get(), {TestEvent(3)}).ok());
  }
  for (const std::string& file : SegmentFiles(dir)) std::filesystem::remove(file);
  auto journal = OpenJournal(Options(dir));
  EXPECT_EQ(journal->metrics().backlog_events, 0u);
  ASSERT_TRUE(AppendAndWait(journal.get(), {TestEvent(4)}).ok());
  std::vector<JournalEvent> read = ReadAll(journal.get(), journal->acknowledged());
  ASSERT_EQ(read.size(), 1u);
  EXPECT_EQ(read[0].sequence, 3u);  // never a sequence the receiver already acknowledged
}

// A crash while the last record was written leaves any prefix of it: recovery cuts it, keeps
// the records before it, and appends after them.
TEST(EventJournal, TornTailAtEveryByteOfTheLastRecord) {
  ScratchDir scratch;
  const std::string& dir = scratch.path();
  std::vector<Event> events = {TestEvent(1), TestEvent(2), TestEvent(3)};
  uint64_t before_last = 0;
  uint64_t after_last = 0;  // where the data ends: the zeros of the prefilled segment follow
  {
    auto journal = OpenJournal(Options(dir));
    ASSERT_TRUE(AppendAndWait(journal.get(), {events[0], events[1]}).ok());
    before_last = journal->metrics().backlog_bytes;
    ASSERT_TRUE(AppendAndWait(journal.get(), {events[2]}).ok());
    after_last = journal->metrics().backlog_bytes;
  }
  std::vector<std::string> files = SegmentFiles(dir);
  ASSERT_EQ(files.size(), 1u);
  std::string whole;
  {
    FILE* f = std::fopen(files[0].c_str(), "rb");
    char buffer[4096];
    size_t n;
    while ((n = std::fread(buffer, 1, sizeof(buffer), f)) > 0) whole.append(buffer, n);
    std::fclose(f);
  }
  ASSERT_GT(after_last, before_last);
  ASSERT_EQ(whole.size(), JournalOptions().segment_bytes_max) << "prefilled";
  // Each cut twice: the file ending there, and zeros after it (a torn write into the
  // prefilled segment).
  for (size_t variant = 0; variant < 2 * (after_last - before_last); ++variant) {
    const size_t cut = before_last + variant / 2;
    const bool zero_tail = variant % 2 == 1;
    // Zeros where the record's own last bytes are zeros rebuild it whole: not torn.
    if (zero_tail && std::all_of(whole.begin() + static_cast<ptrdiff_t>(cut),
                                 whole.begin() + static_cast<ptrdiff_t>(after_last),
                                 [](char c) { return c == 0; })) {
      continue;
    }
    std::string case_dir = ScratchDirectory();
    std::string path =
        absl::StrCat(case_dir, "/", std::filesystem::path(files[0]).filename().string());
    {
      FILE* f = std::fopen(path.c_str(), "wb");
      std::fwrite(whole.data(), 1, cut, f);
      if (zero_tail) {
        const std::string zeros(whole.size() - cut, '\0');
        std::fwrite(zeros.data(), 1, zeros.size(), f);
      }
      std::fclose(f);
    }
    {
      auto journal = OpenJournal(Options(case_dir));
      std::vector<JournalEvent> read = ReadAll(journal.get(), 0);
      ASSERT_EQ(read.size(), 2u) << "cut at " << cut;
      EXPECT_EQ(read[1].event, events[1]);
      ASSERT_TRUE(AppendAndWait(journal.get(), {events[2]}).ok());
    }
    auto journal = OpenJournal(Options(case_dir));
    std::vector<JournalEvent> read = ReadAll(journal.get(), 0);
    ASSERT_EQ(read.size(), 3u) << "cut at " << cut;
    EXPECT_EQ(read[2].sequence, 3u);
    EXPECT_EQ(read[2].event, events[2]);
    std::filesystem::remove_all(case_dir);
  }
  // A flipped byte in the last record is a torn tail too.
  whole[after_last - 3] ^= 0x40;
  {
    FILE* f = std::fopen(files[0].c_str(), "wb");
    std::fwrite(whole.data(), 1, whole.size(), f);
    std::fclose(f);
  }
  auto journal = OpenJournal(Options(dir));
  EXPECT_EQ(ReadAll(journal.get(), 0).size(), 2u);
}

TEST(EventJournal, CorruptRecordInAnOlderSegmentLosesOnlyTheRestOfIt) {
  ScratchDir scratch;
  const std::string& dir = scratch.path();
  JournalOptions options = Options(dir);
  options.segment_bytes_max = kJournalRecordBytesMax;
  options.max_backlog_bytes = 100 * options.segment_bytes_max;
  {
    auto journal = OpenJournal(options);
    for (int i = 0; i < 60; ++i)
      ASSERT_TRUE(AppendAndWait(journal.get(), {TestEvent(i, 10'000)}).ok());
  }
  std::vector<std::string> files = SegmentFiles(dir);
  ASSERT_GE(files.size(), 3u);
  {
    // Flip a byte in the middle of the first segment.
    FILE* f = std::fopen(files[0].c_str(), "r+b");
    std::fseek(f, static_cast<long>(std::filesystem::file_size(files[0]) / 2), SEEK_SET);
    int c = std::fgetc(f);
    std::fseek(f, -1, SEEK_CUR);
    std::fputc(c ^ 0xff, f);
    std::fclose(f);
  }
  auto journal = OpenJournal(options);
  std::vector<JournalEvent> read = ReadAll(journal.get(), 0);
  JournalMetrics metrics = journal->metrics();
  EXPECT_GT(metrics.lost_at_recovery, 0u);
  EXPECT_EQ(read.size() + metrics.lost_at_recovery, 60u);
  for (size_t i = 1; i < read.size(); ++i) EXPECT_LT(read[i - 1].sequence, read[i].sequence);
  EXPECT_EQ(read.back().sequence, 60u);
}

TEST(EventJournal, BoundedBacklogDropsTheOldestSegment) {
  ScratchDir scratch;
  const std::string& dir = scratch.path();
  JournalOptions options = Options(dir);
  options.segment_bytes_max = kJournalRecordBytesMax;
  options.max_backlog_bytes = 3 * options.segment_bytes_max;
  auto journal = OpenJournal(options);
  constexpr int kEvents = 200;  // ~10 KiB each: about 8 segments' worth
  for (int i = 0; i < kEvents; ++i) {
    ASSERT_TRUE(AppendAndWait(journal.get(), {TestEvent(i, 10'000)}).ok());
  }
  JournalMetrics metrics = journal->metrics();
  EXPECT_LE(metrics.backlog_bytes, options.max_backlog_bytes);
  EXPECT_GT(metrics.dropped_by_size, 0u);
  EXPECT_EQ(metrics.dropped_by_size + metrics.backlog_events, uint64_t{kEvents});
  std::vector<JournalEvent> read = ReadAll(journal.get(), 0);
  ASSERT_EQ(read.size(), metrics.backlog_events);
  EXPECT_EQ(read.front().sequence, metrics.dropped_by_size + 1);  // the oldest went
  EXPECT_EQ(read.back().sequence, uint64_t{kEvents});
  EXPECT_LE(SegmentFiles(dir).size(), 3u);
}

TEST(EventJournal, AcknowledgedSegmentsAreDeleted) {
  ScratchDir scratch;
  const std::string& dir = scratch.path();
  JournalOptions options = Options(dir);
  options.segment_bytes_max = kJournalRecordBytesMax;
  auto journal = OpenJournal(options);
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(AppendAndWait(journal.get(), {TestEvent(i, 10'000)}).ok());
  }
  size_t segments = SegmentFiles(dir).size();
  ASSERT_GE(segments, 3u);
  std::vector<JournalEvent> read = ReadAll(journal.get(), 0);
  ASSERT_EQ(read.size(), 100u);
  // Half acknowledged: the segments wholly below the cursor go, the rest stay.
  ASSERT_TRUE(journal->Acknowledge(50).ok());
  size_t half = SegmentFiles(dir).size();
  EXPECT_LT(half, segments);
  EXPECT_GE(half, 2u);
  EXPECT_EQ(ReadAll(journal.get(), journal->acknowledged()).front().sequence, 51u);
  ASSERT_TRUE(journal->Acknowledge(100).ok());
  ASSERT_TRUE(journal->SyncCursor().ok());  // within cursor_sync_interval: written now
  EXPECT_EQ(SegmentFiles(dir).size(), 1u);  // the writer's own
  JournalMetrics metrics = journal->metrics();
  EXPECT_EQ(metrics.backlog_events, 0u);
  EXPECT_EQ(metrics.acknowledged, 100u);
  EXPECT_EQ(metrics.oldest_unacknowledged_age, absl::ZeroDuration());
}

// The cursor file is written at most once per cursor_sync_interval, when idle (SyncCursor),
// and at the end; segments go only once the cursor past them is durable.
TEST(EventJournal, TheCursorIsWrittenAtMostOncePerSyncInterval) {
  ScratchDir scratch;
  const std::string& dir = scratch.path();
  JournalOptions options = Options(dir);
  options.segment_bytes_max = kJournalRecordBytesMax;
  options.cursor_sync_interval = absl::Hours(1);
  auto journal = OpenJournal(options);
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(AppendAndWait(journal.get(), {TestEvent(i, 10'000)}).ok());
  }
  const size_t segments = SegmentFiles(dir).size();
  ASSERT_GE(segments, 3u);
  ASSERT_TRUE(journal->Acknowledge(10).ok());
  EXPECT_EQ(*LoadJournalCursor(dir), 10u) << "the first acknowledgement is written";
  ASSERT_TRUE(journal->Acknowledge(99).ok());
  EXPECT_EQ(*LoadJournalCursor(dir), 10u) << "the next waits for the interval";
  EXPECT_EQ(journal->acknowledged(), 99u);
  EXPECT_EQ(journal->metrics().backlog_events, 1u);
  const size_t kept = SegmentFiles(dir).size();
  ASSERT_TRUE(journal->SyncCursor().ok());
  EXPECT_EQ(*LoadJournalCursor(dir), 99u);
  EXPECT_LT(SegmentFiles(dir).size(), kept) << "segments behind the durable cursor go";
  ASSERT_TRUE(journal->Acknowledge(100).ok());
  journal.reset();
  EXPECT_EQ(*LoadJournalCursor(dir), 100u) << "closing writes the last acknowledgement";
}

// kill -9 while appending: every event whose on_durable said OK is there after reopening.
TEST(EventJournal, KillNineLosesNothingReportedDurable) {
  ScratchDir scratch;
  const std::string& dir = scratch.path();
  int report[2];
  ASSERT_EQ(::pipe(report), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(report[0]);
    JournalOptions options = Options(dir);
    options.segment_bytes_max = kJournalRecordBytesMax;  // rotations happen too
    auto journal = EventJournal::Open(options);
    if (!journal.ok()) ::_exit(1);
    for (uint64_t n = 1;; ++n) {
      Event event = TestEvent(static_cast<int>(n), 500);
      event.queue_id = n;
      auto report_durable = [fd = report[1], n](absl::Status s) {
        if (s.ok()) (void)!::write(fd, &n, sizeof(n));
      };
      while (!(*journal)->Append({event}, report_durable).ok()) {
        absl::SleepFor(absl::Milliseconds(1));  // the queue is full: sequences must match n
      }
      if (n % 64 == 0) absl::SleepFor(absl::Microseconds(200));
    }
  }
  ::close(report[1]);
  uint64_t durable = 0, n;
  while (durable < 3000 && ::read(report[0], &n, sizeof(n)) == sizeof(n))
    durable = std::max(durable, n);
  ::kill(child, SIGKILL);
  int status;
  ::waitpid(child, &status, 0);
  while (::read(report[0], &n, sizeof(n)) == sizeof(n)) durable = std::max(durable, n);
  ::close(report[0]);
  ASSERT_GE(durable, 3000u);
  auto journal = OpenJournal(Options(dir));
  std::vector<JournalEvent> read = ReadAll(journal.get(), 0);
  ASSERT_GE(read.size(), durable);
  for (size_t i = 0; i < read.size(); ++i) {
    ASSERT_EQ(read[i].sequence, i + 1);
    ASSERT_EQ(read[i].event.queue_id, i + 1);  // in order, none missing, none repeated
  }
}

TEST(EventJournal, RefusesAnOversizedEvent) {
  ScratchDir scratch;
  const std::string& dir = scratch.path();
  auto journal = OpenJournal(Options(dir));
  absl::Status refused = journal->Append({TestEvent(1, kEventBytesMax)}, nullptr);
  EXPECT_TRUE(absl::IsInvalidArgument(refused)) << refused;
}

}  // namespace
}  // namespace tern::events
