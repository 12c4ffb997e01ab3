// Garbage collection: the policy on hand-made ledgers, and the real thing on the ring:
// dead segments deleted and live ones kept, compaction copying live messages forward (and
// crash images taken in the middle losing nothing), a steady flow staying bounded, and the
// empty segments of earlier runs removed at recovery.
#include "spool/segment_gc.h"

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "spool/recovery.h"
#include "spool/segment_files.h"
#include "spool/shard_spool.h"
#include "spool/testing/fault_injecting_storage.h"
#include "tests/spool/spool_fixture.h"

namespace tern::spool {
namespace {

using testing::Body;
using testing::SpoolFixture;

constexpr uint64_t kFile = 1000;

// Segment `n` holding a message of `live` bytes (0: none) and `states` state records.
void AddSegment(SegmentLedger* ledger, uint64_t n, uint64_t live, uint64_t states) {
  ledger->AddSegment(n, kFile);
  for (uint64_t i = 0; i < states; ++i) ledger->NoteRecord({n, 0, 10}, false);
  if (live > 0) ledger->AddLive(n * 100, {n, 0, static_cast<uint32_t>(live)});
}

TEST(PlanGc, DeletesDeadSegmentsOldestFirstAndKeepsStateRecordsBehindLiveOnes) {
  SegmentLedger ledger;
  AddSegment(&ledger, 1, 0, 3);    // dead, oldest: deleted
  AddSegment(&ledger, 2, 900, 0);  // live (90%): kept; copying it would free only 2 files
  AddSegment(&ledger, 3, 0, 2);    // dead but state records behind a live one: kept
  AddSegment(&ledger, 4, 900, 0);  // live: kept
  AddSegment(&ledger, 5, 0, 0);    // dead, no state records: deleted out of order
  AddSegment(&ledger, 6, 0, 0);    // not sealed: kept
  const GcPlan plan = PlanGc(ledger, 6);
  EXPECT_EQ(plan.deletes, (std::vector<uint64_t>{1, 5}));
  EXPECT_EQ(plan.compact_segment, 0u);
  EXPECT_TRUE(plan.copies.empty());
}

TEST(PlanGc, CompactsTheOldestWhenMostlyDeadOrHoldingBackDeadSegments) {
  SegmentLedger mostly_dead;
  AddSegment(&mostly_dead, 1, 200, 0);  // 20% live: 3 * 200 < 1000
  AddSegment(&mostly_dead, 2, 900, 0);
  GcPlan plan = PlanGc(mostly_dead, 3);
  EXPECT_EQ(plan.compact_segment, 1u);
  EXPECT_EQ(plan.copies, std::vector<uint64_t>{100});

  SegmentLedger holding_back;
  AddSegment(&holding_back, 1, 600, 0);  // 60% live, but two dead segments behind it
  AddSegment(&holding_back, 2, 0, 5);
  AddSegment(&holding_back, 3, 0, 5);
  plan = PlanGc(holding_back, 4);
  EXPECT_TRUE(plan.deletes.empty());
  EXPECT_EQ(plan.compact_segment, 1u);
  // Not when the dead ones are not sealed yet.
  plan = PlanGc(holding_back, 2);
  EXPECT_EQ(plan.compact_segment, 0u);
}

TEST(PlanGc, WorkPerRunIsBounded) {
  SegmentLedger ledger;
  for (uint64_t n = 1; n <= 20; ++n) AddSegment(&ledger, n, 0, 1);
  GcLimits limits;
  limits.deletes_max = 3;
  EXPECT_EQ(PlanGc(ledger, 100, limits).deletes, (std::vector<uint64_t>{1, 2, 3}));
}

class SegmentGcTest : public SpoolFixture {
 protected:
  SpoolOptions SmallSegments() {
    SpoolOptions o = Options();
    o.segment_bytes = kSegmentBytesMin;  // 64 KiB: ~15 messages of 4 KiB
    o.record_bytes_max = 16 << 10;
    return o;
  }
  // Commits 40 messages of 4 KiB (3+ segments), then finishes every message of segment 1
  // but one, `keeper_`, which gets a DEFERRED result and a HOLD.
  std::vector<std::function<bool()>> FillAndFinishFirstSegment(ShardSpool* spool) {
    return {[this, spool] {
              for (int i = 0; i < 40; ++i) ids_.push_back(Commit(spool, Body(i, 4096)));
              return true;
            },
            [this] { return committed_.size() == ids_.size(); },
            [this, spool] {
              for (uint64_t id : ids_) {
                if (spool->index().Find(id)->location().segment != 1) continue;
                if (keeper_ == 0) {
                  keeper_ = id;
                  Record(spool, id, {Result(0, RecipientState::kDeferred, 2, kNext)});
                  spool->SetHeld(id, true, [this](absl::Status s) { recorded_.push_back(s); });
                  expected_ += 2;
                  continue;
                }
                DeliverAll(spool, id);
                ++expected_;
              }
              return true;
            },
            [this] { return recorded_.size() == expected_; }};
  }
  // Runs GC passes until segment 1 is gone.
  std::function<bool()> CollectUntilFirstSegmentIsGone(ShardSpool* spool) {
    return [this, spool] {
      if (!spool->gc_running()) spool->RunGcNow();
      return !std::filesystem::exists(SegmentPath(ShardDir(), 1)) && !spool->gc_running();
    };
  }
  void ExpectKeeper(const QueueEntry* e) {
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->recipient_state(0), RecipientState::kDeferred);
    EXPECT_EQ(e->recipient_state(1), RecipientState::kPending);
    EXPECT_EQ(e->attempts(), 2u);
    EXPECT_EQ(e->next_attempt_unix_us(), kNext);
    EXPECT_TRUE(e->held());
  }
  // Messages finished by FillAndFinishFirstSegment (the keeper's two records aside).
  size_t Finished() const { return expected_ - 2; }

  static constexpr int64_t kNext = 1'900'000'000'000'000;
  std::vector<uint64_t> ids_;
  uint64_t keeper_ = 0;
  size_t expected_ = 0;
};

TEST_F(SegmentGcTest, DeletesAFullyDeadSegmentAndKeepsLiveOnes) {
  auto loop = NewLoop();
  auto spool = Open(loop.get(), SmallSegments());
  std::vector<std::function<bool()>> steps = {
      [&] {
        for (int i = 0; i < 40; ++i) ids_.push_back(Commit(spool.get(), Body(i, 4096)));
        return true;
      },
      [&] { return committed_.size() == ids_.size(); },
      [&] {
        for (uint64_t id : ids_) {
          if (spool->index().Find(id)->location().segment != 1) continue;
          DeliverAll(spool.get(), id);
          ++expected_;
        }
        return true;
      },
      [&] { return recorded_.size() == expected_; }, CollectUntilFirstSegmentIsGone(spool.get())};
  Run(loop.get(), spool.get(), steps);
  EXPECT_FALSE(std::filesystem::exists(SegmentPath(ShardDir(), 1)));
  EXPECT_TRUE(std::filesystem::exists(SegmentPath(ShardDir(), 2)));
  EXPECT_EQ(spool->counters().segments_deleted.load(), 1u);
  EXPECT_EQ(spool->counters().bytes_reclaimed.load(), kSegmentBytesMin);
  EXPECT_EQ(spool->counters().messages_copied_forward.load(), 0u);
  EXPECT_EQ(spool->counters().segments_on_disk.load(), SegmentFiles());
  EXPECT_EQ(spool->index().count(), ids_.size() - expected_);
  spool.reset();
  auto loop2 = NewLoop();
  auto again = Open(loop2.get(), SmallSegments());
  EXPECT_EQ(again->index().count(), ids_.size() - expected_);
  Run(loop2.get(), again.get(), {});
}

TEST_F(SegmentGcTest, CompactionCopiesLiveMessagesForwardThenDeletesTheOldSegment) {
  std::string read_back;
  {
    auto loop = NewLoop();
    auto spool = Open(loop.get(), SmallSegments());
    auto steps = FillAndFinishFirstSegment(spool.get());
    steps.push_back(CollectUntilFirstSegmentIsGone(spool.get()));
    steps.push_back([&] {
      spool->ReadMessage(keeper_, [&](absl::StatusOr<LoadedMessage> m) {
        ASSERT_TRUE(m.ok()) << m.status();
        read_back = std::string(m->body());
      });
      return true;
    });
    steps.push_back([&] { return !read_back.empty(); });
    Run(loop.get(), spool.get(), steps);
    EXPECT_EQ(read_back, bodies_[keeper_]);
    EXPECT_EQ(spool->counters().messages_copied_forward.load(), 1u);
    EXPECT_GE(spool->counters().segments_deleted.load(), 1u);
    const QueueEntry* e = spool->index().Find(keeper_);
    ExpectKeeper(e);
    EXPECT_GT(e->location().segment, 1u);
  }
  read_back.clear();
  auto loop = NewLoop();
  auto spool = Open(loop.get(), SmallSegments());
  ExpectKeeper(spool->index().Find(keeper_));
  EXPECT_EQ(spool->index().count(), ids_.size() - Finished());
  Run(loop.get(), spool.get(),
      {[&] {
         spool->ReadMessage(keeper_, [&](absl::StatusOr<LoadedMessage> m) {
           ASSERT_TRUE(m.ok()) << m.status();
           read_back = std::string(m->body());
         });
         return true;
       },
       [&] { return !read_back.empty(); }});
  EXPECT_EQ(read_back, bodies_[keeper_]);
}

TEST_F(SegmentGcTest, ResultsRecordedDuringACompactionAreKept) {
  {
    auto loop = NewLoop();
    auto spool = Open(loop.get(), SmallSegments());
    auto steps = FillAndFinishFirstSegment(spool.get());
    steps.push_back([&] {
      // A pass starts (it reads the keeper to copy it) and a result arrives meanwhile.
      spool->RunGcNow();
      EXPECT_TRUE(spool->gc_running());
      Record(spool.get(), keeper_, {Result(1, RecipientState::kDelivered, 3)});
      ++expected_;
      return true;
    });
    steps.push_back([&] { return recorded_.size() == expected_; });
    steps.push_back(CollectUntilFirstSegmentIsGone(spool.get()));
    Run(loop.get(), spool.get(), steps);
    const QueueEntry* e = spool->index().Find(keeper_);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->recipient_state(1), RecipientState::kDelivered);
    EXPECT_GT(e->location().segment, 1u);
  }
  auto loop = NewLoop();
  auto spool = Open(loop.get(), SmallSegments());
  const QueueEntry* e = spool->index().Find(keeper_);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->recipient_state(0), RecipientState::kDeferred);
  EXPECT_EQ(e->recipient_state(1), RecipientState::kDelivered);
  EXPECT_EQ(e->attempts(), 3u);
  EXPECT_TRUE(e->held());
  Run(loop.get(), spool.get(), {});
}

TEST_F(SegmentGcTest, ACrashDuringCompactionLosesNothing) {
  const std::string before_copy = dir_.path() + "/image-before-copy";
  const std::string before_delete = dir_.path() + "/image-before-delete";
  auto loop = NewLoop();
  testing::FaultInjectingStorage storage(loop.get(), /*seed=*/1);
  SpoolOptions options = SmallSegments();
  options.storage = &storage;
  auto spool = Open(loop.get(), options);
  // The copy's batch is the only write while a GC pass runs: image the spool as a power cut
  // would leave it while that write is in flight, and again before the old segment is
  // unlinked (copy durable).
  storage.on_point = [&](testing::CrashPoint point, const std::string&) {
    const std::string* image = nullptr;
    if (point == testing::CrashPoint::kWriteSubmitted && spool->gc_running()) image = &before_copy;
    if (point == testing::CrashPoint::kDeleteSubmitted) image = &before_delete;
    if (image != nullptr && !std::filesystem::exists(*image)) {
      ASSERT_TRUE(storage.TakeCrashImage(ShardDir(), *image, testing::PowerCutLoss::kDrop).ok());
    }
  };
  auto steps = FillAndFinishFirstSegment(spool.get());
  steps.push_back(CollectUntilFirstSegmentIsGone(spool.get()));
  Run(loop.get(), spool.get(), steps);
  EXPECT_EQ(spool->counters().messages_copied_forward.load(), 1u);
  ASSERT_TRUE(std::filesystem::exists(before_copy));
  ASSERT_TRUE(std::filesystem::exists(before_delete));
  const size_t live = ids_.size() - Finished();
  for (const std::string& image : {before_copy, before_delete}) {
    SCOPED_TRACE(image);
    QueueIndex index;
    auto stats = RecoverShard(image, &index);
    ASSERT_TRUE(stats.ok()) << stats.status();
    EXPECT_EQ(index.count(), live);
    for (uint64_t id : ids_) {
      const QueueEntry* e = index.Find(id);
      if (e == nullptr) continue;
      EXPECT_EQ(testing::StoredBody(image, *e), bodies_[id]) << id;
    }
    ExpectKeeper(index.Find(keeper_));
    // Before the copy the old record is the message; after it, the copy supersedes it.
    EXPECT_EQ(index.Find(keeper_)->location().segment == 1, image == before_copy);
  }
}

TEST_F(SegmentGcTest, SteadyFlowKeepsTheSpoolBounded) {
  constexpr int kMessages = 20'000;
  constexpr int kOutstandingMax = 1'000;
  SpoolOptions options = Options();
  options.segment_bytes = 1 << 20;
  options.record_bytes_max = 64 << 10;
  options.gc_interval = absl::Milliseconds(10);
  auto loop = NewLoop();
  auto spool = Open(loop.get(), options);
  int sent = 0;
  uint64_t segments_max = 0;
  auto finished = [&] { return spool->counters().messages_finished.load(); };
  Run(loop.get(), spool.get(),
      {[&] {
         segments_max = std::max(segments_max, spool->counters().segments_on_disk.load());
         while (sent < kMessages && sent - static_cast<int>(finished()) < kOutstandingMax) {
           const uint64_t id = spool->NextQueueId();
           core::ByteBuffer record;
           CHECK(spool->BeginMessage(id, testing::Envelope(), &record).ok());
           record.Append(Body(sent, 200));
           spool->CommitMessage(id, std::move(record), [&, id](absl::Status s) {
             ASSERT_TRUE(s.ok()) << s;
             DeliverAll(spool.get(), id);
           });
           ++sent;
         }
         return finished() == kMessages;
       },
       [&] {
         segments_max = std::max(segments_max, spool->counters().segments_on_disk.load());
         return SegmentFiles() <= 3;
       }},
      absl::Seconds(120));
  const SpoolCounters& c = spool->counters();
  EXPECT_EQ(c.messages_finished.load(), static_cast<uint64_t>(kMessages));
  EXPECT_EQ(c.records.load(), 3u * kMessages);  // one MESSAGE and two results each
  EXPECT_GE(c.segments_created.load(), 8u);     // ~10 MiB went through 1 MiB segments
  std::printf(
      "steady flow: %d messages, %d commits, %d segments created, %d deleted, "
      "at most %d on disk\n",
      kMessages, static_cast<int>(c.commits.load()), static_cast<int>(c.segments_created.load()),
      static_cast<int>(c.segments_deleted.load()), static_cast<int>(segments_max));
  EXPECT_EQ(spool->index().count(), 0u);
  EXPECT_LE(SegmentFiles(), 3u);
  EXPECT_LE(segments_max, 8u);
  EXPECT_GE(spool->counters().segments_deleted.load(), 5u);
  EXPECT_EQ(spool->counters().segments_on_disk.load(), SegmentFiles());
  EXPECT_EQ(spool->counters().bytes_on_disk.load(), SegmentFiles() * options.segment_bytes);
  spool.reset();
  auto loop2 = NewLoop();
  auto again = Open(loop2.get(), options);
  EXPECT_EQ(again->index().count(), 0u);
  Run(loop2.get(), again.get(), {});
  EXPECT_LE(SegmentFiles(), 4u);
}

TEST_F(SegmentGcTest, EmptySegmentsOfEarlierRunsAreDeletedAtRecovery) {
  for (int run = 0; run < 3; ++run) {
    auto loop = NewLoop();
    auto spool = Open(loop.get(), Options());
    EXPECT_EQ(spool->counters().segments_deleted.load(), run == 0 ? 0u : 1u);
    Run(loop.get(), spool.get(), {});
    EXPECT_EQ(SegmentFiles(), 1u) << run;
  }
}

}  // namespace
}  // namespace tern::spool
