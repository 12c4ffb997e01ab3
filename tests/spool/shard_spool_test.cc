// ShardSpool and GroupCommit on the real ring and real files: one write + one fdatasync per
// iteration's batch, waiters in order, bodies byte-identical after reopen, rotation, write
// failures (through a fault-injecting StorageBackend), ENOSPC at preallocation, queue ids.
#include "spool/shard_spool.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "spool/record_codec.h"
#include "spool/segment_files.h"
#include "spool/testing/fault_injecting_storage.h"
#include "tests/engine/test_engine.h"
#include "tests/spool/spool_test_util.h"

namespace tern::spool {
namespace {

using testing::Body;
using testing::Envelope;
using testing::FaultInjectingStorage;
using testing::FaultOp;
using testing::RunUntil;
using testing::TempDir;

class ShardSpoolTest : public ::testing::Test {
 protected:
  SpoolOptions Options() {
    SpoolOptions o;
    o.spool_dir = dir_.path();
    o.shard_id = 3;
    return o;
  }
  // ShardSpool::Open with the engine's storage unless `options` brings one (kept until the
  // test ends).
  absl::StatusOr<std::unique_ptr<ShardSpool>> OpenSpool(core::Loop* loop, SpoolOptions options) {
    if (options.storage == nullptr) {
      storages_.push_back(engine::CreateStorage(loop));
      options.storage = storages_.back().get();
    }
    return ShardSpool::Open(loop, options);
  }
  std::unique_ptr<core::Loop> NewLoop() {
    auto loop = engine::CreateLoop(tern::engine::testing::TestIoEngine());
    CHECK(loop.ok());
    return std::move(*loop);
  }
  // Appends message i with `body` through the facade; its status lands in statuses[i].
  void Commit(ShardSpool* spool, int i, const std::string& body) {
    const uint64_t id = spool->NextQueueId();
    ids_.push_back(id);
    bodies_[id] = body;
    core::ByteBuffer record;
    MessageEnvelope envelope = Envelope();
    ASSERT_TRUE(spool->BeginMessage(id, envelope, &record).ok());
    record.Append(body);
    spool->CommitMessage(id, std::move(record), [this, i](absl::Status s) {
      order_.push_back(i);
      statuses_.push_back(std::move(s));
    });
  }
  // Reads a message's body back from its segment through the index location.
  std::string BodyOnDisk(const ShardSpool& spool, uint64_t id) {
    const QueueEntry* e = spool.index().Find(id);
    if (e == nullptr) return "<missing>";
    std::string& seg = segment_cache_[e->location().segment];  // segments are 64 MiB
    if (seg.empty()) seg = testing::ReadFile(SegmentPath(spool.shard_dir(), e->location().segment));
    RecordView rv;
    if (DecodeRecord(absl::string_view(seg).substr(e->location().offset), &rv) !=
        DecodeResult::kOk) {
      return "<bad record>";
    }
    MessageRecordView m;
    if (!m.Parse(rv.payload)) return "<bad envelope>";
    return std::string(m.body());
  }
  // Shuts the spool down from inside the loop and waits for it.
  void ShutdownAndRun(core::Loop* loop, ShardSpool* spool, std::function<bool()> ready) {
    bool requested = false, done = false;
    ASSERT_TRUE(RunUntil(loop, [&] {
      if (!requested && ready()) {
        requested = true;
        spool->Shutdown([&] { done = true; });
      }
      return done;
    }));
  }

  TempDir dir_;
  std::vector<std::unique_ptr<StorageBackend>> storages_;  // of OpenSpool()
  std::vector<uint64_t> ids_;
  std::map<uint64_t, std::string> bodies_;
  std::vector<int> order_;
  std::vector<absl::Status> statuses_;
  std::map<uint64_t, std::string> segment_cache_;
};

TEST_F(ShardSpoolTest, OneIterationsMessagesAreOneWriteAndOneSync) {
  constexpr int kMessages = 50;
  auto loop = NewLoop();
  auto spool = OpenSpool(loop.get(), Options());
  ASSERT_TRUE(spool.ok()) << spool.status();
  for (int i = 0; i < kMessages; ++i) Commit(spool->get(), i, Body(i, 300 + i));
  ShutdownAndRun(loop.get(), spool->get(), [&] { return statuses_.size() == kMessages; });
  ASSERT_EQ(statuses_.size(), static_cast<size_t>(kMessages));
  for (int i = 0; i < kMessages; ++i) {
    EXPECT_TRUE(statuses_[i].ok()) << statuses_[i];
    EXPECT_EQ(order_[i], i);
  }
  const SpoolCounters& c = (*spool)->counters();
  EXPECT_EQ(c.commits.load(), 1u);
  EXPECT_EQ(c.fdatasyncs.load(), 1u);
  EXPECT_EQ(c.records.load(), static_cast<uint64_t>(kMessages));
  EXPECT_EQ(c.records_per_commit_histogram[5].load(), 1u);  // 32..63 records
  uint64_t commits_timed = 0, records_timed = 0;
  for (size_t i = 0; i < kLatencyBuckets; ++i) {
    commits_timed += c.commit_latency.buckets[i].load();
    records_timed += c.record_wait.buckets[i].load();
  }
  EXPECT_EQ(commits_timed, 1u);
  EXPECT_EQ(records_timed, static_cast<uint64_t>(kMessages));
  // Every record waited at least as long as the commit that carried it.
  EXPECT_GE(c.record_wait.sum_micros.load(), kMessages * c.commit_latency.sum_micros.load());
  EXPECT_EQ(c.segments_created.load(), 1u);
  EXPECT_EQ(c.write_errors.load(), 0u);
  EXPECT_EQ((*spool)->index().count(), static_cast<size_t>(kMessages));
  spool->reset();

  auto loop2 = NewLoop();
  auto reopened = OpenSpool(loop2.get(), Options());
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->recovery_stats().messages, static_cast<uint64_t>(kMessages));
  EXPECT_EQ((*reopened)->index().count(), static_cast<size_t>(kMessages));
  for (uint64_t id : ids_) EXPECT_EQ(BodyOnDisk(**reopened, id), bodies_[id]);
  const QueueEntry* e = (*reopened)->index().Find(ids_[0]);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->sender(), "sender@example.com");
  EXPECT_EQ(e->recipient(1), "bob@example.net");
  ShutdownAndRun(loop2.get(), reopened->get(), [] { return true; });
}

TEST_F(ShardSpoolTest, BatchesRotateAcrossSmallSegments) {
  SpoolOptions options = Options();
  options.segment_bytes = kSegmentBytesMin;  // 64 KiB
  options.record_bytes_max = 16 << 10;
  constexpr int kMessages = 60;  // ~4.3 KiB each: ~4 segments
  auto loop = NewLoop();
  auto spool = OpenSpool(loop.get(), options);
  ASSERT_TRUE(spool.ok()) << spool.status();
  // Half appended up front, the rest from the waiters, so batches also form under load.
  for (int i = 0; i < kMessages / 2; ++i) Commit(spool->get(), i, Body(i, 4096));
  int next = kMessages / 2;
  ShutdownAndRun(loop.get(), spool->get(), [&] {
    while (next < kMessages && statuses_.size() + 8 > static_cast<size_t>(next)) {
      Commit(spool->get(), next, Body(next, 4096));
      ++next;
    }
    return statuses_.size() == kMessages;
  });
  for (const absl::Status& s : statuses_) EXPECT_TRUE(s.ok()) << s;
  for (int i = 0; i < kMessages; ++i) EXPECT_EQ(order_[i], i);
  const SpoolCounters& c = (*spool)->counters();
  EXPECT_GE(c.segments_created.load(), 4u);
  EXPECT_GE(c.commits.load(), 4u);
  spool->reset();

  auto loop2 = NewLoop();
  auto reopened = OpenSpool(loop2.get(), options);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->index().count(), static_cast<size_t>(kMessages));
  EXPECT_GE((*reopened)->recovery_stats().segments, 4u);
  for (uint64_t id : ids_) EXPECT_EQ(BodyOnDisk(**reopened, id), bodies_[id]);
  ShutdownAndRun(loop2.get(), reopened->get(), [] { return true; });
}

TEST_F(ShardSpoolTest, FailedSyncFailsTheBatchAndAbandonsTheSegment) {
  auto loop = NewLoop();
  FaultInjectingStorage storage(loop.get(), /*seed=*/1);
  storage.Inject({.op = FaultOp::kSync, .nth = 1, .error = EIO});
  SpoolOptions options = Options();
  options.storage = &storage;
  auto spool = OpenSpool(loop.get(), options);
  ASSERT_TRUE(spool.ok());
  for (int i = 0; i < 5; ++i) Commit(spool->get(), i, Body(i));
  uint64_t failed_segment = 0;
  bool second_wave = false;
  ShutdownAndRun(loop.get(), spool->get(), [&] {
    if (statuses_.size() == 5 && !second_wave) {
      second_wave = true;
      failed_segment = (*spool)->current_segment();
      for (int i = 5; i < 8; ++i) Commit(spool->get(), i, Body(i));
    }
    return statuses_.size() == 8;
  });
  ASSERT_EQ(statuses_.size(), 8u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_FALSE(statuses_[i].ok());
    EXPECT_EQ(statuses_[i].code(), absl::StatusCode::kDataLoss);
    EXPECT_NE(statuses_[i].message().find(".seg"), std::string::npos) << statuses_[i];
  }
  for (int i = 5; i < 8; ++i) EXPECT_TRUE(statuses_[i].ok()) << statuses_[i];
  const SpoolCounters& c = (*spool)->counters();
  EXPECT_EQ(c.write_errors.load(), 1u);
  EXPECT_EQ(c.segments_abandoned.load(), 1u);
  EXPECT_EQ(c.failed_records.load(), 5u);
  EXPECT_EQ(failed_segment, 0u);  // abandoned: nothing current until the next batch
  EXPECT_EQ((*spool)->index().count(), 3u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ((*spool)->index().Find(ids_[i]), nullptr);
  for (int i = 5; i < 8; ++i) {
    const QueueEntry* e = (*spool)->index().Find(ids_[i]);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->location().segment, 2u);  // a new segment, not the failed one
  }
}

// The failed commit's records reached the file (only its fdatasync failed): they are zeroed
// and synced before anything else is written, so recovery does not bring them back. Erasing
// fails twice: meanwhile the spool refuses mail and fails the batches that come.
TEST_F(ShardSpoolTest, AFailedCommitIsErasedBeforeTheNextBatchAndNotRecovered) {
  auto loop = NewLoop();
  FaultInjectingStorage storage(loop.get(), /*seed=*/1);
  storage.Inject({.op = FaultOp::kSync, .nth = 1, .error = EIO});
  // The first WriteZeros calls are the erase's: the first segment is not zero-filled, and
  // these commits do not fill half of it (no next segment).
  storage.Inject({.op = FaultOp::kPrefill, .nth = 1, .times = 2, .error = EIO});
  SpoolOptions options = Options();
  options.storage = &storage;
  options.prepare_retry_interval = absl::Milliseconds(20);
  auto spool = OpenSpool(loop.get(), options);
  ASSERT_TRUE(spool.ok());
  for (int i = 0; i < 5; ++i) Commit(spool->get(), i, Body(i));
  bool refused = false;
  ShutdownAndRun(loop.get(), spool->get(), [&] {
    if (statuses_.size() == 5 && ids_.size() == 5) Commit(spool->get(), 5, Body(5));
    const absl::Status accepting = (*spool)->CheckAccepting();
    if (accepting.code() == absl::StatusCode::kUnavailable) refused = true;
    if (statuses_.size() == 6 && ids_.size() == 6 && accepting.ok()) {
      for (int i = 6; i < 8; ++i) Commit(spool->get(), i, Body(i));
    }
    return statuses_.size() == 8;
  });
  ASSERT_EQ(statuses_.size(), 8u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(statuses_[i].code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(statuses_[5].code(), absl::StatusCode::kUnavailable) << statuses_[5];
  EXPECT_NE(statuses_[5].message().find("cannot erase the failed commit"), std::string::npos)
      << statuses_[5];
  for (int i = 6; i < 8; ++i) EXPECT_TRUE(statuses_[i].ok()) << statuses_[i];
  EXPECT_TRUE(refused);
  EXPECT_EQ(storage.calls(FaultOp::kPrefill), 4u);  // 2 failed pieces, 1 piece + 1 sync
  EXPECT_EQ(storage.unsynced_writes(), 0u);
  spool->reset();

  auto loop2 = NewLoop();
  auto reopened = OpenSpool(loop2.get(), Options());
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->index().count(), 2u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ((*reopened)->index().Find(ids_[i]), nullptr) << i;
  for (int i = 6; i < 8; ++i) EXPECT_EQ(BodyOnDisk(**reopened, ids_[i]), bodies_[ids_[i]]);
  EXPECT_EQ((*reopened)->recovery_stats().torn_tails_truncated, 0u);
  EXPECT_EQ((*reopened)->recovery_stats().corrupt_ranges_quarantined, 0u);
  ShutdownAndRun(loop2.get(), reopened->get(), [] { return true; });
}

TEST_F(ShardSpoolTest, NoSpaceAtPreallocationStopsAcceptingUntilRetryWorks) {
  auto loop = NewLoop();
  FaultInjectingStorage storage(loop.get(), /*seed=*/1);
  storage.Inject({.op = FaultOp::kCreate, .nth = 1, .times = 2, .error = ENOSPC});
  SpoolOptions options = Options();
  options.storage = &storage;
  options.prepare_retry_interval = absl::Milliseconds(30);
  auto spool = OpenSpool(loop.get(), options);
  ASSERT_TRUE(spool.ok());
  Commit(spool->get(), 0, Body(0));
  std::vector<absl::StatusCode> accepting;
  bool retried = false;
  ShutdownAndRun(loop.get(), spool->get(), [&] {
    accepting.push_back((*spool)->CheckAccepting().code());
    if (statuses_.size() == 1 && !retried && (*spool)->CheckAccepting().ok()) {
      retried = true;
      Commit(spool->get(), 1, Body(1));
    }
    return statuses_.size() == 2;
  });
  ASSERT_EQ(statuses_.size(), 2u);
  EXPECT_EQ(statuses_[0].code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(statuses_[1].ok()) << statuses_[1];
  EXPECT_NE(std::find(accepting.begin(), accepting.end(), absl::StatusCode::kResourceExhausted),
            accepting.end());
  EXPECT_EQ(storage.calls(FaultOp::kCreate), 3u);
  EXPECT_EQ((*spool)->counters().prepare_errors.load(), 2u);
}

TEST_F(ShardSpoolTest, QueueIdsIncreaseAcrossReopenAndCarryTheShard) {
  const uint64_t future = (uint64_t{3} << kQueueIdShardShift) | (kQueueIdSequenceMask - 1000);
  {
    auto loop = NewLoop();
    auto spool = OpenSpool(loop.get(), Options());
    ASSERT_TRUE(spool.ok());
    const uint64_t a = (*spool)->NextQueueId();
    const uint64_t b = (*spool)->NextQueueId();
    EXPECT_LT(a, b);
    EXPECT_EQ(a >> kQueueIdShardShift, 3u);
    // A record with an id far ahead of the clock, as a clock step back would leave.
    core::ByteBuffer record;
    ASSERT_TRUE((*spool)->BeginMessage(future, Envelope(), &record).ok());
    (*spool)->CommitMessage(future, std::move(record),
                            [this](absl::Status s) { statuses_.push_back(s); });
    ShutdownAndRun(loop.get(), spool->get(), [&] { return statuses_.size() == 1; });
    ASSERT_TRUE(statuses_[0].ok());
  }
  auto loop = NewLoop();
  auto spool = OpenSpool(loop.get(), Options());
  ASSERT_TRUE(spool.ok());
  EXPECT_EQ((*spool)->NextQueueId(), future + 1);
  EXPECT_EQ((*spool)->current_segment(), 0u);  // the new segment is not ready yet
  ShutdownAndRun(loop.get(), spool->get(), [] { return true; });
  // Every open made a new segment; none was appended to after recovery.
  auto segments = ListSegments(ShardDirectory(dir_.path(), 3));
  ASSERT_TRUE(segments.ok());
  EXPECT_EQ(segments->size(), 2u);
}

TEST_F(ShardSpoolTest, OptionsAreValidated) {
  auto loop = NewLoop();
  SpoolOptions options = Options();
  options.segment_bytes = kSegmentBytesMin;  // cannot hold the default largest record
  EXPECT_EQ(OpenSpool(loop.get(), options).status().code(), absl::StatusCode::kInvalidArgument);
  options = Options();
  options.shard_id = 256;
  EXPECT_EQ(OpenSpool(loop.get(), options).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tern::spool
