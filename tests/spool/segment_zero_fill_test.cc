// Zero fill of segments ahead of use (spool/segment_zero_fill.h, GroupCommit's kFilling):
// the fill itself on a real file (zeros written, extents no longer "unwritten"), and through a
// ShardSpool on the fault-injecting storage: a fill that fails or is not finished when its
// segment is needed leaves the segment usable as preallocated, counted, with nothing lost,
// and a zero-filled tail reads back as the end of the records at recovery.
#include "spool/segment_zero_fill.h"

#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "spool/segment_files.h"
#include "spool/testing/fault_injecting_storage.h"
#include "tests/spool/spool_fixture.h"

namespace tern::spool::testing {
namespace {

constexpr uint64_t kFillSegmentBytes = (uint64_t{5} << 20) / 2;   // 2.5 MiB: 3 zero pieces
constexpr uint64_t kSpoolSegmentBytes = (uint64_t{3} << 20) / 2;  // 1.5 MiB: 2 zero pieces
constexpr size_t kBodyBytes = 100 << 10;                          // ~14 messages a segment

// Extents of `path` the file system marks unwritten (fallocate'd, never written); nullopt
// when it cannot tell (no FIEMAP, e.g. tmpfs).
std::optional<int> UnwrittenExtents(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  constexpr int kExtentsMax = 256;
  std::vector<char> buffer(sizeof(fiemap) + kExtentsMax * sizeof(fiemap_extent));
  auto* map = reinterpret_cast<fiemap*>(buffer.data());
  map->fm_start = 0;
  map->fm_length = FIEMAP_MAX_OFFSET;
  map->fm_flags = FIEMAP_FLAG_SYNC;
  map->fm_extent_count = kExtentsMax;
  const int rc = ::ioctl(fd, FS_IOC_FIEMAP, map);
  ::close(fd);
  if (rc != 0) return std::nullopt;
  int unwritten = 0;
  for (uint32_t i = 0; i < map->fm_mapped_extents; ++i) {
    if (map->fm_extents[i].fe_flags & FIEMAP_EXTENT_UNWRITTEN) ++unwritten;
  }
  return unwritten;
}

class SegmentZeroFillTest : public SpoolFixture {
 protected:
  // Creates a preallocated segment through `storage`; its handle, or -1.
  FileHandle CreateSegment(core::Loop* loop, StorageBackend* storage, const std::string& path) {
    FileHandle file = -1;
    bool done = false;
    storage->CreateSegment(path, kFillSegmentBytes, [&](absl::StatusOr<FileHandle> f) {
      done = true;
      if (f.ok()) file = *f;
    });
    EXPECT_TRUE(RunUntil(loop, [&] { return done; }));
    return file;
  }
};

TEST_F(SegmentZeroFillTest, WritesZerosInPiecesThenSyncsAndLeavesNoUnwrittenExtent) {
  auto loop = NewLoop();
  FaultInjectingStorage storage(loop.get(), /*seed=*/1);
  SpoolCounters counters;
  const std::string path = dir_.path() + "/fill.seg";
  FileHandle file = -1;
  bool created = false, filled = false;
  absl::Status status = absl::UnknownError("not run");
  std::optional<int> unwritten_before;
  SegmentZeroFill fill(&storage, &counters);
  ASSERT_TRUE(RunUntil(loop.get(), [&] {
    if (!created) {
      created = true;
      storage.CreateSegment(path, kFillSegmentBytes, [&](absl::StatusOr<FileHandle> f) {
        ASSERT_TRUE(f.ok()) << f.status();
        file = *f;
        unwritten_before = UnwrittenExtents(path);
        fill.Start(file, kFillSegmentBytes, [&](absl::Status s) {
          status = std::move(s);
          filled = true;
        });
        EXPECT_TRUE(fill.busy());
      });
    }
    return filled;
  }));
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_FALSE(fill.busy());
  EXPECT_EQ(counters.prefill_bytes.load(), kFillSegmentBytes);
  EXPECT_EQ(storage.calls(FaultOp::kPrefill), 4u);  // 1 MiB + 1 MiB + 0.5 MiB + fdatasync
  EXPECT_EQ(storage.calls(FaultOp::kWrite), 0u);    // commits' counts are left alone
  EXPECT_EQ(storage.calls(FaultOp::kSync), 0u);
  const std::string bytes = ReadFile(path);
  ASSERT_EQ(bytes.size(), kFillSegmentBytes);
  EXPECT_EQ(bytes.find_first_not_of('\0'), std::string::npos);
  ::close(file);
  if (!unwritten_before.has_value() || *unwritten_before == 0) {
    GTEST_SKIP() << "the file system does not report unwritten extents (FIEMAP)";
  }
  EXPECT_EQ(UnwrittenExtents(path), 0);
}

TEST_F(SegmentZeroFillTest, StopEndsTheFillAfterThePieceInFlight) {
  auto loop = NewLoop();
  FaultInjectingStorage storage(loop.get(), /*seed=*/1);
  SpoolCounters counters;
  const FileHandle file = CreateSegment(loop.get(), &storage, dir_.path() + "/stop.seg");
  ASSERT_GE(file, 0);
  auto loop2 = NewLoop();  // a Loop runs once: the fill gets its own (a second backend too)
  FaultInjectingStorage storage2(loop2.get(), /*seed=*/1);
  SegmentZeroFill fill(&storage2, &counters);
  bool started = false, finished = false;
  absl::Status status;
  ASSERT_TRUE(RunUntil(loop2.get(), [&] {
    if (!started) {
      started = true;
      fill.Start(file, kFillSegmentBytes, [&](absl::Status s) {
        status = std::move(s);
        finished = true;
      });
      EXPECT_TRUE(fill.busy());
      fill.Stop();
    }
    return finished;
  }));
  EXPECT_TRUE(absl::IsCancelled(status)) << status;
  EXPECT_FALSE(fill.busy());
  EXPECT_EQ(counters.prefill_bytes.load(), kZeroWriteBytesMax);  // the one piece in flight
  EXPECT_EQ(storage2.calls(FaultOp::kPrefill), 1u);
  ::close(file);
}

// Through a ShardSpool: 1.5 MiB segments, 100 KiB messages.
class SpoolZeroFillTest : public SpoolFixture {
 protected:
  SpoolOptions SmallSegments(StorageBackend* storage) {
    SpoolOptions o = Options();
    o.segment_bytes = kSpoolSegmentBytes;
    o.record_bytes_max = 256 << 10;
    o.storage = storage;
    return o;
  }
  static uint64_t FillOutcomes(const SpoolCounters& c) {
    return c.segments_prefilled.load() + c.segments_prefill_late.load() + c.prefill_errors.load();
  }
  // Steps that commit `messages` one at a time, each once the previous is durable and
  // `ready()` holds; the last waits for all to be durable and `ready()` again.
  std::vector<std::function<bool()>> CommitOneByOne(ShardSpool* spool, int messages,
                                                    std::function<bool()> ready) {
    std::vector<std::function<bool()>> steps;
    for (int i = 0; i < messages; ++i) {
      steps.push_back([this, spool, i, ready] {
        if (committed_.size() < static_cast<size_t>(i) || !ready()) return false;
        Commit(spool, Body(i, kBodyBytes));
        return true;
      });
    }
    steps.push_back([this, messages, ready] {
      return committed_.size() == static_cast<size_t>(messages) && ready();
    });
    return steps;
  }
  // No segment is being created, and every one but the first has its zero fill finished
  // (done, failed or overtaken).
  static std::function<bool()> FillsFinished(ShardSpool* spool, FaultInjectingStorage* storage) {
    return [spool, storage] {
      const SpoolCounters& c = spool->counters();
      return storage->calls(FaultOp::kCreate) == c.segments_created.load() &&
             FillOutcomes(c) + 1 >= c.segments_created.load();
    };
  }
  static bool Always() { return true; }
  // Reopens the spool (plain ring storage) and checks every message came back whole, with no
  // torn tail or corrupt range found on the way.
  void ExpectEverythingRecovered() {
    auto loop = NewLoop();
    auto again = Open(loop.get(), SmallSegments(nullptr));
    EXPECT_EQ(again->recovery_stats().torn_tails_truncated, 0u);
    EXPECT_EQ(again->recovery_stats().corrupt_ranges_quarantined, 0u);
    EXPECT_EQ(again->index().count(), bodies_.size());
    for (const auto& [id, body] : bodies_) {
      const QueueEntry* e = again->index().Find(id);
      ASSERT_NE(e, nullptr) << id;
      EXPECT_EQ(StoredBody(ShardDir(), *e), body) << id;
    }
    Run(loop.get(), again.get(), {});
  }
  // The highest segment a committed message is in (current_segment() is 0 after shutdown).
  uint64_t LastSegmentUsed(const ShardSpool& spool) {
    uint64_t last = 0;
    for (const auto& [id, body] : bodies_) {
      if (const QueueEntry* e = spool.index().Find(id)) {
        last = std::max(last, e->location().segment);
      }
    }
    return last;
  }
  void ExpectAllCommitted() {
    for (const auto& [id, status] : committed_) EXPECT_TRUE(status.ok()) << id << ": " << status;
  }
};

TEST_F(SpoolZeroFillTest, NextSegmentIsZeroFilledBeforeUseAndRecoversCleanly) {
  auto loop = NewLoop();
  FaultInjectingStorage storage(loop.get(), /*seed=*/1);
  auto spool = Open(loop.get(), SmallSegments(&storage));
  constexpr int kMessages = 40;  // ~3 segments
  Run(loop.get(), spool.get(),
      CommitOneByOne(spool.get(), kMessages, FillsFinished(spool.get(), &storage)));
  ExpectAllCommitted();
  const SpoolCounters& c = spool->counters();
  EXPECT_GE(LastSegmentUsed(*spool), 3u);
  // Every segment after the first was prepared ahead, zero-filled, and used only after that.
  EXPECT_EQ(c.segments_prefill_late.load(), 0u);
  EXPECT_EQ(c.prefill_errors.load(), 0u);
  EXPECT_EQ(c.segments_prefilled.load(), c.segments_created.load() - 1);
  EXPECT_GE(c.segments_prefilled.load(), 2u);
  EXPECT_EQ(c.prefill_bytes.load(), c.segments_prefilled.load() * kSpoolSegmentBytes);
  // The tail of the last segment is zeros written by the fill: the end of the records.
  const std::string last = ReadFile(SegmentPath(ShardDir(), LastSegmentUsed(*spool)));
  EXPECT_EQ(last.size(), kSpoolSegmentBytes);
  EXPECT_EQ(last.back(), '\0');
  // Written over its whole length before the records came: no extent is left unwritten
  // (where the file system tells).
  for (uint64_t segment = 2; segment <= LastSegmentUsed(*spool); ++segment) {
    const std::optional<int> unwritten = UnwrittenExtents(SegmentPath(ShardDir(), segment));
    if (unwritten.has_value()) EXPECT_EQ(*unwritten, 0) << segment;
  }
  spool.reset();
  ExpectEverythingRecovered();
}

TEST_F(SpoolZeroFillTest, FallocateModeWritesNoZeros) {
  auto loop = NewLoop();
  FaultInjectingStorage storage(loop.get(), /*seed=*/1);
  SpoolOptions options = SmallSegments(&storage);
  options.prefill = SegmentPrefill::kFallocate;
  auto spool = Open(loop.get(), options);
  Run(loop.get(), spool.get(), CommitOneByOne(spool.get(), 40, Always));
  ExpectAllCommitted();
  EXPECT_GE(LastSegmentUsed(*spool), 3u);
  EXPECT_EQ(storage.calls(FaultOp::kPrefill), 0u);
  EXPECT_EQ(FillOutcomes(spool->counters()), 0u);
  EXPECT_EQ(spool->counters().prefill_bytes.load(), 0u);
  spool.reset();
  ExpectEverythingRecovered();
}

TEST_F(SpoolZeroFillTest, FailedFirstZeroPieceFallsBackToThePreallocatedSegment) {
  auto loop = NewLoop();
  FaultInjectingStorage storage(loop.get(), /*seed=*/1);
  storage.Inject({.op = FaultOp::kPrefill, .nth = 1, .error = EIO});
  auto spool = Open(loop.get(), SmallSegments(&storage));
  Run(loop.get(), spool.get(),
      CommitOneByOne(spool.get(), 40, FillsFinished(spool.get(), &storage)));
  ExpectAllCommitted();
  const SpoolCounters& c = spool->counters();
  EXPECT_GE(LastSegmentUsed(*spool), 3u);
  EXPECT_EQ(c.prefill_errors.load(), 1u);
  EXPECT_EQ(c.segments_prefill_late.load(), 0u);
  EXPECT_EQ(c.segments_prefilled.load(), c.segments_created.load() - 2);  // not the first two
  EXPECT_EQ(c.write_errors.load(), 0u);
  EXPECT_EQ(c.failed_records.load(), 0u);
  spool.reset();
  ExpectEverythingRecovered();
}

TEST_F(SpoolZeroFillTest, FailedFillSyncFallsBackToThePreallocatedSegment) {
  auto loop = NewLoop();
  FaultInjectingStorage storage(loop.get(), /*seed=*/1);
  storage.Inject({.op = FaultOp::kPrefill, .nth = 3, .error = EIO});  // 2 pieces, then sync
  auto spool = Open(loop.get(), SmallSegments(&storage));
  Run(loop.get(), spool.get(),
      CommitOneByOne(spool.get(), 40, FillsFinished(spool.get(), &storage)));
  ExpectAllCommitted();
  const SpoolCounters& c = spool->counters();
  EXPECT_GE(LastSegmentUsed(*spool), 3u);
  EXPECT_EQ(c.prefill_errors.load(), 1u);
  EXPECT_EQ(c.segments_prefilled.load(), c.segments_created.load() - 2);
  EXPECT_EQ(c.failed_records.load(), 0u);
  spool.reset();
  ExpectEverythingRecovered();
}

TEST_F(SpoolZeroFillTest, SegmentNeededWhileAZeroPieceIsInFlightWaitsForThatPieceOnly) {
  auto loop = NewLoop();
  FaultInjectingStorage storage(loop.get(), /*seed=*/1);
  storage.HoldPrefillAfter(0);  // the fill's first piece never lands...
  auto spool = Open(loop.get(), SmallSegments(&storage));
  constexpr int kMessages = 20;  // 5 into the second segment: not half of it
  std::vector<std::function<bool()>> steps = CommitOneByOne(spool.get(), kMessages, Always);
  bool released = false;
  size_t committed_when_late = 0;
  // ... until the segment is needed: then the commit waits for that piece, which is released.
  std::vector<std::function<bool()>> guarded;
  for (auto& step : steps) {
    guarded.push_back([&, step]() mutable {
      if (!released && spool->counters().segments_prefill_late.load() == 1) {
        committed_when_late = committed_.size();
        EXPECT_EQ(storage.parked_prefills(), 1u);  // one piece, and no second one issued
        released = true;
        storage.ReleasePrefill();
      }
      return step();
    });
  }
  Run(loop.get(), spool.get(), guarded);
  EXPECT_TRUE(released);
  ExpectAllCommitted();
  EXPECT_EQ(committed_.size(), static_cast<size_t>(kMessages));
  EXPECT_LT(committed_when_late, static_cast<size_t>(kMessages));
  const SpoolCounters& c = spool->counters();
  EXPECT_EQ(LastSegmentUsed(*spool), 2u);
  EXPECT_EQ(c.segments_prefill_late.load(), 1u);
  EXPECT_EQ(c.segments_prefilled.load(), 0u);
  EXPECT_EQ(c.prefill_bytes.load(), kZeroWriteBytesMax);  // the piece that was in flight
  EXPECT_EQ(storage.calls(FaultOp::kPrefill), 1u);
  spool.reset();
  ExpectEverythingRecovered();  // the piece landed before the records, never over them
}

TEST_F(SpoolZeroFillTest, SegmentNeededWhileTheFillSyncIsInFlightWaitsForIt) {
  auto loop = NewLoop();
  FaultInjectingStorage storage(loop.get(), /*seed=*/1);
  storage.HoldPrefillAfter(2);  // both pieces land, the fdatasync waits...
  auto spool = Open(loop.get(), SmallSegments(&storage));
  constexpr int kMessages = 18;  // a few into the second segment, not half of it
  // Into the second segment only once its zeros are written and its fdatasync is parked.
  ShardSpool* raw = spool.get();
  std::vector<std::function<bool()>> steps = CommitOneByOne(spool.get(), kMessages, [&, raw] {
    return raw->counters().segments_created.load() < 2 || storage.parked_prefills() == 1 ||
           raw->counters().segments_prefill_late.load() > 0;
  });
  bool released = false;
  // ... until the segment is needed: nothing is written there before the sync completes.
  std::vector<std::function<bool()>> guarded;
  for (auto& step : steps) {
    guarded.push_back([&, step]() mutable {
      if (!released && raw->counters().segments_prefill_late.load() == 1) {
        EXPECT_EQ(storage.parked_prefills(), 1u);
        for (const auto& [id, status] : committed_) {
          const QueueEntry* e = raw->index().Find(id);
          EXPECT_NE(e, nullptr);
          if (e == nullptr) continue;
          EXPECT_EQ(e->location().segment, 1u) << "written while the fill's sync was in flight";
        }
        released = true;
        storage.ReleasePrefill();
      }
      return step();
    });
  }
  Run(loop.get(), spool.get(), guarded);
  EXPECT_TRUE(released);
  ExpectAllCommitted();
  const SpoolCounters& c = spool->counters();
  EXPECT_EQ(LastSegmentUsed(*spool), 2u);
  EXPECT_EQ(c.segments_prefill_late.load(), 1u);
  EXPECT_EQ(c.segments_prefilled.load(), 1u);  // its sync finished: zeroed and synced
  EXPECT_EQ(c.prefill_errors.load(), 0u);
  EXPECT_EQ(c.prefill_bytes.load(), kSpoolSegmentBytes);
  spool.reset();
  ExpectEverythingRecovered();
}

}  // namespace
}  // namespace tern::spool::testing
