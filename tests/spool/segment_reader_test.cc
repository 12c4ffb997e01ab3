// SegmentReader on the real ring: records read back from many segments, with at most
// kReadFilesOpenMax idle descriptors kept, Forget() closing one, CloseAll() closing all.
#include "spool/segment_reader.h"

#include <map>
#include <string>

#include "gtest/gtest.h"
#include "spool/record_codec.h"
#include "spool/recovery.h"
#include "spool/segment_files.h"
#include "tests/engine/test_engine.h"
#include "tests/spool/spool_test_util.h"

namespace tern::spool {
namespace {

using testing::Body;
using testing::MessageRecord;
using testing::RunUntil;
using testing::TempDir;
using testing::WriteFile;

TEST(SegmentReader, ReadsFromManySegmentsWithABoundedDescriptorCache) {
  TempDir dir;
  constexpr uint64_t kSegments = kReadFilesOpenMax + 8;
  for (uint64_t n = 1; n <= kSegments; ++n) {
    WriteFile(SegmentPath(dir.path(), n), std::string(MessageRecord(n, Body(n, 300)).view()) +
                                              std::string(MessageRecord(n + 1000, Body(n)).view()));
  }
  QueueIndex index;
  ASSERT_TRUE(RecoverShard(dir.path(), &index).ok());
  ASSERT_EQ(index.count(), 2 * kSegments);
  auto loop = engine::CreateLoop(tern::engine::testing::TestIoEngine());
  ASSERT_TRUE(loop.ok());
  std::unique_ptr<StorageBackend> storage = engine::CreateStorage(loop->get());
  SegmentReader reader(storage.get(), dir.path());
  std::map<uint64_t, std::string> bodies;
  size_t max_open = 0;
  bool closed = false, close_requested = false;
  for (const auto& [id, entry] : index) {
    reader.Read(entry.location(), [&, id = id](absl::StatusOr<core::ByteBuffer> bytes) {
      ASSERT_TRUE(bytes.ok()) << bytes.status();
      RecordView rv;
      ASSERT_EQ(DecodeRecord(bytes->view(), &rv), DecodeResult::kOk);
      MessageRecordView m;
      ASSERT_TRUE(m.Parse(rv.payload));
      bodies[id] = std::string(m.body());
    });
  }
  ASSERT_TRUE(RunUntil(loop->get(), [&] {
    max_open = std::max(max_open, reader.open_files());
    if (bodies.size() == index.count() && !close_requested) {
      EXPECT_LE(reader.open_files(), kReadFilesOpenMax);
      reader.Forget(kSegments);  // the most recent: still cached
      close_requested = true;
      reader.CloseAll([&] { closed = true; });
    }
    return closed;
  }));
  EXPECT_EQ(reader.open_files(), 0u);
  EXPECT_EQ(reader.reads_in_flight(), 0u);
  for (uint64_t n = 1; n <= kSegments; ++n) {
    EXPECT_EQ(bodies[n], Body(n, 300));
    EXPECT_EQ(bodies[n + 1000], Body(n));
  }
}

}  // namespace
}  // namespace tern::spool
