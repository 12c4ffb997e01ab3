// Tests of spool/testing/fault_injecting_storage.h: injected failures are reported like real
// ones, and power-cut images keep exactly what completed fdatasyncs cover.
#include "spool/testing/fault_injecting_storage.h"

#include <sys/uio.h>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/engine/test_engine.h"
#include "tests/spool/spool_test_util.h"

namespace tern::spool::testing {
namespace {

constexpr uint64_t kFileBytes = 64 << 10;

class FaultInjectingStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loop = engine::CreateLoop(tern::engine::testing::TestIoEngine());
    ASSERT_TRUE(loop.ok());
    loop_ = std::move(*loop);
    storage_ = std::make_unique<FaultInjectingStorage>(loop_.get(), /*seed=*/7);
    loop_->AddIterationHook([this] {
      if (waiting_for_ && waiting_for_()) loop_->Stop();
    });
    data_dir_ = dir_.path() + "/data";
    std::filesystem::create_directory(data_dir_);
  }
  void TearDown() override {
    if (file_ >= 0) {
      bool closed = false;
      storage_->Close(file_, [&](absl::Status) { closed = true; });
      Wait([&] { return closed; });
    }
  }
  void Wait(std::function<bool()> done) {
    // One loop per test, run again for every wait; the iteration hook stops it.
    if (done()) return;
    waiting_for_ = std::move(done);
    loop_->ClearStop();
    loop_->Run();
    waiting_for_ = nullptr;
  }
  absl::StatusOr<FileHandle> Create(const std::string& name) {
    std::optional<absl::StatusOr<FileHandle>> result;
    storage_->CreateSegment(data_dir_ + "/" + name, kFileBytes,
                            [&](absl::StatusOr<FileHandle> f) { result = std::move(f); });
    Wait([&] { return result.has_value(); });
    return *result;
  }
  absl::Status Write(uint64_t offset, const std::string& bytes) {
    std::optional<absl::Status> result;
    iovec iov{const_cast<char*>(bytes.data()), bytes.size()};
    storage_->WriteAndSync(file_, offset, std::span<const iovec>(&iov, 1), SyncMode::kFdatasync,
                           [&](absl::Status s) { result = std::move(s); });
    Wait([&] { return result.has_value(); });
    return *result;
  }
  std::string Image(PowerCutLoss loss) {
    const std::string image = dir_.path() + "/image-" + std::to_string(images_++);
    EXPECT_TRUE(storage_->TakeCrashImage(data_dir_, image, loss).ok());
    return ReadFile(image + "/f");
  }
  std::string OnDisk() { return ReadFile(data_dir_ + "/f"); }

  TempDir dir_;
  std::unique_ptr<core::Loop> loop_;
  std::function<bool()> waiting_for_;  // what Wait() waits for
  std::unique_ptr<FaultInjectingStorage> storage_;
  std::string data_dir_;
  FileHandle file_ = -1;
  int images_ = 0;
};

TEST_F(FaultInjectingStorageTest, AFailedSyncIsReportedAndItsBytesDoNotSurviveAPowerCut) {
  storage_->Inject({.op = FaultOp::kSync, .nth = 2, .error = EIO});
  auto file = Create("f");
  ASSERT_TRUE(file.ok()) << file.status();
  file_ = *file;
  ASSERT_TRUE(Write(0, "first").ok());
  const absl::Status failed = Write(5, "second");
  EXPECT_EQ(failed.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(failed.message().find("fdatasync"), std::string::npos) << failed;
  EXPECT_EQ(storage_->injected(), 1u);
  EXPECT_EQ(storage_->unsynced_writes(), 1u);
  // The page cache has the bytes; a power cut takes them.
  EXPECT_EQ(OnDisk().substr(0, 11), "firstsecond");
  const std::string image = Image(PowerCutLoss::kDrop);
  EXPECT_EQ(image.size(), kFileBytes);
  EXPECT_EQ(image.substr(0, 11), std::string("first") + std::string(6, '\0'));
  ASSERT_TRUE(Write(11, "third").ok());  // the 3rd call is not injected
  EXPECT_EQ(storage_->calls(FaultOp::kSync), 3u);
}

TEST_F(FaultInjectingStorageTest, ATornWriteLeavesAStrictPrefix) {
  storage_->Inject({.op = FaultOp::kWrite, .nth = 1, .error = EIO, .tear = true});
  auto file = Create("f");
  ASSERT_TRUE(file.ok());
  file_ = *file;
  const std::string bytes(10000, 'x');
  const absl::Status failed = Write(0, bytes);
  EXPECT_EQ(failed.code(), absl::StatusCode::kDataLoss);
  const std::string disk = OnDisk();
  const size_t written = disk.find('\0');
  EXPECT_GT(written, 0u);
  EXPECT_LT(written, bytes.size());
  EXPECT_EQ(disk.substr(0, written), bytes.substr(0, written));
}

TEST_F(FaultInjectingStorageTest, APowerCutDuringAWriteKeepsOldOrNewBytesPerLossModel) {
  auto file = Create("f");
  ASSERT_TRUE(file.ok());
  file_ = *file;
  ASSERT_TRUE(Write(0, std::string(100, 'a')).ok());
  std::map<PowerCutLoss, std::string> images;
  const std::string update(3 * 4096, 'b');
  storage_->on_point = [&](CrashPoint point, const std::string& path) {
    if (point != CrashPoint::kWriteSubmitted) return;
    EXPECT_EQ(path, data_dir_ + "/f");
    for (PowerCutLoss loss : {PowerCutLoss::kDrop, PowerCutLoss::kTear, PowerCutLoss::kPages}) {
      images[loss] = Image(loss);
    }
  };
  ASSERT_TRUE(Write(100, update).ok());
  storage_->on_point = nullptr;
  EXPECT_EQ(storage_->unsynced_writes(), 0u);
  ASSERT_EQ(images.size(), 3u);
  for (const auto& [loss, image] : images) {
    SCOPED_TRACE(PowerCutLossName(loss));
    EXPECT_EQ(image.substr(0, 100), std::string(100, 'a'));  // synced before: always there
    const std::string range = image.substr(100, update.size());
    size_t first_zero = range.find('\0');
    if (first_zero == std::string::npos) first_zero = range.size();
    switch (loss) {
      case PowerCutLoss::kDrop:
        EXPECT_EQ(range, std::string(update.size(), '\0'));
        break;
      case PowerCutLoss::kTear:  // new bytes up to some point, old (zeros) after
        EXPECT_EQ(range.find('b', first_zero), std::string::npos);
        break;
      case PowerCutLoss::kPages:  // each page of the file wholly old or wholly new
        for (size_t page = 0; page < 4; ++page) {
          const size_t begin = page == 0 ? 100 : page * 4096;
          const size_t end = std::min<size_t>((page + 1) * 4096, 100 + update.size());
          const std::string bytes = image.substr(begin, end - begin);
          EXPECT_TRUE(bytes == std::string(bytes.size(), 'b') ||
                      bytes == std::string(bytes.size(), '\0'))
              << "page " << page;
        }
        break;
    }
  }
  // After the sync completed, an image has everything.
  EXPECT_EQ(Image(PowerCutLoss::kDrop).substr(100, update.size()), update);
}

TEST_F(FaultInjectingStorageTest, CapacityRefusesCreationUntilADeletionFreesRoom) {
  storage_->set_capacity_bytes(2 * kFileBytes);
  ASSERT_TRUE(Create("a").ok());
  ASSERT_TRUE(Create("b").ok());
  const auto full = Create("c");
  EXPECT_EQ(full.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(storage_->used_bytes(), 2 * kFileBytes);
  std::optional<absl::Status> deleted;
  storage_->DeleteFile(data_dir_ + "/a", [&](absl::Status s) { deleted = std::move(s); });
  Wait([&] { return deleted.has_value(); });
  ASSERT_TRUE(deleted->ok()) << *deleted;
  EXPECT_EQ(storage_->used_bytes(), kFileBytes);
  auto again = Create("c");
  ASSERT_TRUE(again.ok()) << again.status();
}

TEST_F(FaultInjectingStorageTest, RandomFaultsReplayWithTheSameSeed) {
  auto pattern = [&](uint64_t seed) {
    FaultInjectingStorage storage(loop_.get(), seed);
    storage.Inject({.op = FaultOp::kCreate, .rate = 0.5, .error = ENOSPC});
    std::string failures;
    for (int i = 0; i < 40; ++i) {
      std::optional<absl::StatusOr<FileHandle>> result;
      storage.CreateSegment(data_dir_ + "/r" + std::to_string(seed) + "-" + std::to_string(i), 4096,
                            [&](absl::StatusOr<FileHandle> f) { result = std::move(f); });
      Wait([&] { return result.has_value(); });
      failures.push_back(result->ok() ? '.' : 'x');
      if (result->ok()) {
        bool closed = false;
        storage.Close(**result, [&](absl::Status) { closed = true; });
        Wait([&] { return closed; });
      }
    }
    return failures;
  };
  const std::string first = pattern(11);
  EXPECT_EQ(pattern(11), first);
  EXPECT_NE(first.find('x'), std::string::npos);
  EXPECT_NE(first.find('.'), std::string::npos);
}

}  // namespace
}  // namespace tern::spool::testing
