// Recovery on hand-made segment files: clean segments, torn tails cut at every byte of the
// last record, corruption in the middle quarantined with later records kept.
#include "spool/recovery.h"

#include <filesystem>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "spool/segment_files.h"
#include "tests/spool/spool_test_util.h"

namespace tern::spool {
namespace {

using testing::Body;
using testing::FileSize;
using testing::MessageRecord;
using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

constexpr size_t kPreallocatedTail = 4096;

// Five MESSAGE records with ids 1..5, and their offsets.
struct Segment {
  std::string bytes;
  std::vector<size_t> offsets;
};

Segment FiveRecords() {
  Segment s;
  for (int i = 1; i <= 5; ++i) {
    s.offsets.push_back(s.bytes.size());
    s.bytes += std::string(MessageRecord(i, Body(i, 100 + 37 * i)).view());
  }
  return s;
}

class RecoveryTest : public ::testing::Test {
 protected:
  std::string SegmentFile(uint64_t n) { return SegmentPath(dir_.path(), n); }
  RecoveryStats Recover() {
    index_ = QueueIndex();
    absl::StatusOr<RecoveryStats> stats = RecoverShard(dir_.path(), &index_);
    CHECK(stats.ok());
    return *stats;
  }
  TempDir dir_;
  QueueIndex index_;
};

TEST_F(RecoveryTest, EmptyShard) {
  const RecoveryStats stats = Recover();
  EXPECT_EQ(stats.segments, 0u);
  EXPECT_EQ(stats.last_segment, 0u);
}

TEST_F(RecoveryTest, CleanSegmentsWithPreallocatedTails) {
  const Segment s = FiveRecords();
  WriteFile(SegmentFile(1), s.bytes + std::string(kPreallocatedTail, '\0'));
  WriteFile(SegmentFile(2), std::string(kPreallocatedTail, '\0'));  // created, never used
  WriteFile(SegmentFile(3), std::string(MessageRecord(9, Body(9)).view()));
  const RecoveryStats stats = Recover();
  EXPECT_EQ(stats.segments, 3u);
  EXPECT_EQ(stats.last_segment, 3u);
  EXPECT_EQ(stats.messages, 6u);
  EXPECT_EQ(stats.max_queue_id, 9u);
  EXPECT_EQ(stats.torn_tails_truncated, 0u);
  EXPECT_EQ(stats.corrupt_ranges_quarantined, 0u);
  EXPECT_EQ(index_.count(), 6u);
  EXPECT_EQ(FileSize(SegmentFile(1)), s.bytes.size() + kPreallocatedTail);
  const QueueEntry* e = index_.Find(4);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->location().segment, 1u);
  EXPECT_EQ(e->location().offset, s.offsets[3]);
  EXPECT_EQ(e->message_bytes(), Body(4, 100 + 37 * 4).size());
}

TEST_F(RecoveryTest, TornTailCutAtEveryByteOfTheLastRecord) {
  const Segment s = FiveRecords();
  const size_t last = s.offsets.back();
  for (size_t cut = last + 1; cut < s.bytes.size(); ++cut) {
    for (bool padded : {false, true}) {
      std::string file = s.bytes.substr(0, cut);
      if (padded) file += std::string(kPreallocatedTail, '\0');
      WriteFile(SegmentFile(1), file);
      const RecoveryStats stats = Recover();
      ASSERT_EQ(stats.messages, 4u) << cut;
      ASSERT_EQ(stats.torn_tails_truncated, 1u) << cut;
      ASSERT_EQ(stats.corrupt_ranges_quarantined, 0u) << cut;
      ASSERT_EQ(FileSize(SegmentFile(1)), last) << cut;
      for (uint64_t id = 1; id <= 4; ++id) ASSERT_NE(index_.Find(id), nullptr);
      // The torn bytes (up to the last non-zero one) were kept aside, not dropped.
      std::string torn = s.bytes.substr(last, cut - last);
      while (!torn.empty() && torn.back() == '\0') torn.pop_back();
      ASSERT_EQ(
          ReadFile(absl::StrCat(QuarantineDirectory(dir_.path()), "/00000001-", last, ".torn")),
          torn);
      // Recovering again finds a clean segment.
      ASSERT_EQ(Recover().torn_tails_truncated, 0u);
    }
  }
}

TEST_F(RecoveryTest, CorruptPayloadByteInMiddleRecordIsQuarantined) {
  const Segment s = FiveRecords();
  std::string file = s.bytes;
  file[s.offsets[1] + 60] ^= 0x40;
  WriteFile(SegmentFile(1), file + std::string(kPreallocatedTail, '\0'));
  const RecoveryStats stats = Recover();
  EXPECT_EQ(stats.messages, 4u);
  EXPECT_EQ(stats.corrupt_ranges_quarantined, 1u);
  EXPECT_EQ(stats.torn_tails_truncated, 0u);
  EXPECT_EQ(index_.Find(2), nullptr);
  for (uint64_t id : {1, 3, 4, 5}) EXPECT_NE(index_.Find(id), nullptr) << id;
  const std::string quarantined =
      ReadFile(absl::StrCat(QuarantineDirectory(dir_.path()), "/00000001-", s.offsets[1], ".bad"));
  EXPECT_EQ(quarantined, file.substr(s.offsets[1], s.offsets[2] - s.offsets[1]));
  // The segment itself is left as it was.
  EXPECT_EQ(FileSize(SegmentFile(1)), s.bytes.size() + kPreallocatedTail);
}

TEST_F(RecoveryTest, CorruptHeaderInMiddleIsFoundByScanning) {
  const Segment s = FiveRecords();
  std::string file = s.bytes;
  file[s.offsets[2] + kRecordLengthOffset + 2] ^= 0x7F;  // a length far past the end
  WriteFile(SegmentFile(1), file);
  const RecoveryStats stats = Recover();
  EXPECT_EQ(stats.messages, 4u);
  EXPECT_EQ(stats.corrupt_ranges_quarantined, 1u);
  EXPECT_EQ(index_.Find(3), nullptr);
  EXPECT_NE(index_.Find(5), nullptr);
  EXPECT_TRUE(std::filesystem::exists(
      absl::StrCat(QuarantineDirectory(dir_.path()), "/00000001-", s.offsets[2], ".bad")));
}

TEST_F(RecoveryTest, ZeroedRangeBeforeValidRecordsIsNotEndOfData) {
  const Segment s = FiveRecords();
  std::string file = s.bytes;
  std::fill(file.begin() + s.offsets[1], file.begin() + s.offsets[2], '\0');
  WriteFile(SegmentFile(1), file);
  const RecoveryStats stats = Recover();
  EXPECT_EQ(stats.messages, 4u);
  EXPECT_EQ(stats.corrupt_ranges_quarantined, 1u);
  EXPECT_NE(index_.Find(5), nullptr);
}

}  // namespace
}  // namespace tern::spool
