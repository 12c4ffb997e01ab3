// Tests of core/append_file.h on a real ring and a temporary file: lines land whole and in
// order, the buffer bound drops and counts, the owner hears of every completed write, and
// Reopen() (logrotate) moves appends to a new file while a write to the old one is in flight.
#include "core/append_file.h"

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"
#include "tests/engine/test_engine.h"

namespace tern::core {
namespace {

class AppendFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "append_file_test.XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = dir_ + "/log";
    auto loop = engine::CreateLoop(tern::engine::testing::TestIoEngine());
    if (!loop.ok()) GTEST_SKIP() << "io_uring unavailable: " << loop.status();
    loop_ = std::move(*loop);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Contents() { return ContentsOf(path_); }
  static std::string ContentsOf(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  // Runs the loop until `file` is idle (bounded by a 10 s timer).
  void RunUntilIdle(AppendFile* file) {
    struct Bound final : Timer {
      Loop* loop;
      void OnTimer() override { loop->Stop(); }
    } bound;
    bound.loop = loop_.get();
    loop_->timers().Arm(&bound, absl::Now() + absl::Seconds(10));
    loop_->AddIterationHook([&] {
      file->Flush();
      if (file->idle()) loop_->Stop();
    });
    loop_->WakeSoon();
    loop_->Run();
    loop_->timers().Cancel(&bound);
  }

  std::string dir_, path_;
  std::unique_ptr<Loop> loop_;
};

TEST_F(AppendFileTest, LinesLandInOrderAndTheOwnerHearsOfEachWrite) {
  auto file = AppendFile::Open(loop_.get(), path_, 0640, 1 << 20, "test log");
  ASSERT_TRUE(file.ok()) << file.status();
  int writes = 0;
  (*file)->set_on_written([&] { ++writes; });
  std::string expected;
  for (int i = 0; i < 100; ++i) {
    const std::string line = "line " + std::to_string(i) + "\n";
    EXPECT_TRUE((*file)->Append(line));
    expected += line;
  }
  RunUntilIdle(file->get());
  EXPECT_EQ(Contents(), expected);
  EXPECT_GE(writes, 1);
  EXPECT_EQ((*file)->dropped_appends(), 0u);
  EXPECT_EQ((*file)->write_errors(), 0u);
}

TEST_F(AppendFileTest, BeyondTheBufferBoundAppendsAreDroppedAndCounted) {
  auto file = AppendFile::Open(loop_.get(), path_, 0640, 10, "test log");
  ASSERT_TRUE(file.ok());
  EXPECT_TRUE((*file)->Append("12345\n"));
  EXPECT_FALSE((*file)->Append("67890\n"));  // 12 > 10 bytes buffered
  EXPECT_EQ((*file)->buffered(), 6u);
  EXPECT_EQ((*file)->dropped_appends(), 1u);
  RunUntilIdle(file->get());
  EXPECT_EQ(Contents(), "12345\n");
}

TEST_F(AppendFileTest, ReopenMovesAppendsToTheNewFileWhileTheOldWriteFinishes) {
  auto file = AppendFile::Open(loop_.get(), path_, 0640, 1 << 20, "test log");
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE((*file)->Append("before\n"));
  (*file)->Flush();  // in flight: its bytes go to the old file
  ASSERT_FALSE((*file)->idle());
  const std::string rotated = path_ + ".1";
  ASSERT_EQ(rename(path_.c_str(), rotated.c_str()), 0);
  ASSERT_TRUE((*file)->Reopen(path_, 0640).ok());
  ASSERT_TRUE((*file)->Reopen(path_, 0640).ok());  // twice before the write completes
  // A reopen that fails keeps the file in use.
  EXPECT_FALSE((*file)->Reopen(dir_ + "/missing/log", 0640).ok());
  ASSERT_TRUE((*file)->Append("after\n"));
  RunUntilIdle(file->get());
  EXPECT_EQ(ContentsOf(rotated), "before\n");
  EXPECT_EQ(Contents(), "after\n");
}

TEST_F(AppendFileTest, OpeningWhereNoFileCanBeIsAnError) {
  auto file = AppendFile::Open(loop_.get(), dir_ + "/missing/log", 0640, 10, "test log");
  EXPECT_EQ(file.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(file.status().message().find("test log"), std::string::npos);
}

}  // namespace
}  // namespace tern::core
