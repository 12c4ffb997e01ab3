// Tests of core/shard_thread.h on a real loop: set-up and tear-down run on the thread, a
// failing loop factory or set-up is WaitReady()'s answer, posted work runs there in order, a
// stop (also one requested during set-up) runs on_stop once and the thread ends, and the
// thread runs on the CPU it was pinned to.
#include "core/shard_thread.h"

#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "tests/engine/test_engine.h"

namespace tern::core {
namespace {

LoopFactory TestLoops() {
  return [] { return engine::CreateLoop(tern::engine::testing::TestIoEngine()); };
}

class ShardThreadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!engine::CreateLoop(tern::engine::testing::TestIoEngine()).ok()) {
      GTEST_SKIP() << "I/O engine unavailable";
    }
  }
};

// A wheel timer that calls a function.
class CallbackTimer : public Timer {
 public:
  explicit CallbackTimer(std::function<void()> callback) : callback_(std::move(callback)) {}
  void OnTimer() override { callback_(); }

 private:
  std::function<void()> callback_;
};

TEST_F(ShardThreadTest, SetsUpRunsAndTearsDownOnItsOwnThread) {
  std::thread::id set_up_on, tear_down_on;
  Loop* set_up_loop = nullptr;
  std::atomic<bool> torn_down{false};
  ShardThread thread({});
  thread.Start(TestLoops(), {.set_up =
                                 [&](Loop* loop) {
                                   set_up_on = std::this_thread::get_id();
                                   set_up_loop = loop;
                                   return absl::OkStatus();
                                 },
                             .tear_down =
                                 [&] {
                                   tear_down_on = std::this_thread::get_id();
                                   torn_down = true;
                                 }});
  ASSERT_TRUE(thread.WaitReady().ok());
  EXPECT_TRUE(thread.ready());
  EXPECT_NE(set_up_loop, nullptr);
  EXPECT_NE(set_up_on, std::this_thread::get_id());
  EXPECT_FALSE(torn_down.load());
  thread.RequestStop();  // no on_stop: the loop stops at once
  thread.Join();
  EXPECT_TRUE(torn_down.load());
  EXPECT_EQ(tear_down_on, set_up_on);
}

TEST_F(ShardThreadTest, ALoopFactoryErrorIsWaitReadysAnswer) {
  bool set_up_ran = false, tear_down_ran = false, stop_ran = false;
  ShardThread thread({});
  thread.Start(
      []() -> absl::StatusOr<std::unique_ptr<Loop>> {
        return absl::UnavailableError("no ring for you");
      },
      {.set_up =
           [&](Loop*) {
             set_up_ran = true;
             return absl::OkStatus();
           },
       .on_stop = [&] { stop_ran = true; },
       .tear_down = [&] { tear_down_ran = true; }});
  const absl::Status ready = thread.WaitReady();
  EXPECT_EQ(ready.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ready.message(), "no ring for you");
  EXPECT_FALSE(thread.ready());
  thread.RequestStop();
  thread.Join();
  EXPECT_FALSE(set_up_ran);
  EXPECT_FALSE(tear_down_ran);  // nothing was set up
  EXPECT_FALSE(stop_ran);
}

TEST_F(ShardThreadTest, ASetUpErrorIsWaitReadysAnswerAndThePartialSetUpIsTornDown) {
  bool tear_down_ran = false, stop_ran = false;
  ShardThread thread({});
  thread.Start(TestLoops(), {.set_up = [](Loop*) { return absl::InternalError("spool locked"); },
                             .on_stop = [&] { stop_ran = true; },
                             .tear_down = [&] { tear_down_ran = true; }});
  const absl::Status ready = thread.WaitReady();
  EXPECT_EQ(ready.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(ready.message(), "spool locked");
  EXPECT_FALSE(thread.ready());
  EXPECT_FALSE(thread.Post([] {}));
  thread.RequestStop();
  thread.Join();
  EXPECT_TRUE(tear_down_ran);
  EXPECT_FALSE(stop_ran);
}

TEST_F(ShardThreadTest, PostedWorkRunsOnTheThreadInPostingOrder) {
  constexpr int kPosts = 1000;
  std::thread::id loop_thread;
  std::vector<int> seen;  // thread only until Join()
  bool all_on_loop_thread = true;
  absl::Notification last_ran;
  ShardThread thread({});
  thread.Start(TestLoops(), {.set_up = [&](Loop*) {
                 loop_thread = std::this_thread::get_id();
                 return absl::OkStatus();
               }});
  ASSERT_TRUE(thread.WaitReady().ok());
  for (int i = 0; i < kPosts; ++i) {
    ASSERT_TRUE(thread.Post([&, i] {
      if (std::this_thread::get_id() != loop_thread) all_on_loop_thread = false;
      seen.push_back(i);
      if (i == kPosts - 1) last_ran.Notify();
    }));
  }
  ASSERT_TRUE(last_ran.WaitForNotificationWithTimeout(absl::Seconds(30)));
  thread.RequestStop();
  thread.Join();
  ASSERT_EQ(seen.size(), size_t{kPosts});
  for (int i = 0; i < kPosts; ++i) EXPECT_EQ(seen[static_cast<size_t>(i)], i);
  EXPECT_TRUE(all_on_loop_thread);
  EXPECT_FALSE(thread.Post([] {}));  // the loop is gone
}

TEST_F(ShardThreadTest, OnStopRunsOnceAndMayFinishLater) {
  std::atomic<int> stops{0};
  Loop* loop = nullptr;
  // The graceful shutdown: the loop stops one timer tick after on_stop.
  CallbackTimer finish([&] { loop->Stop(); });
  ShardThread thread({});
  thread.Start(TestLoops(), {.set_up =
                                 [&](Loop* l) {
                                   loop = l;
                                   return absl::OkStatus();
                                 },
                             .on_stop =
                                 [&] {
                                   ++stops;
                                   loop->timers().Arm(&finish,
                                                      loop->now() + absl::Milliseconds(20));
                                 },
                             .tear_down = [&] { loop->timers().Cancel(&finish); }});
  ASSERT_TRUE(thread.WaitReady().ok());
  thread.RequestStop();
  thread.RequestStop();
  thread.Join();
  EXPECT_EQ(stops.load(), 1);
}

TEST_F(ShardThreadTest, AStopRequestedDuringSetUpRunsOnStopAfterIt) {
  absl::Notification in_set_up, release_set_up;
  std::atomic<bool> set_up_done{false};
  std::atomic<bool> stop_after_set_up{false};
  Loop* loop = nullptr;
  ShardThread thread({});
  thread.Start(TestLoops(), {.set_up =
                                 [&](Loop* l) {
                                   loop = l;
                                   in_set_up.Notify();
                                   release_set_up.WaitForNotification();
                                   set_up_done = true;
                                   return absl::OkStatus();
                                 },
                             .on_stop =
                                 [&] {
                                   stop_after_set_up = set_up_done.load();
                                   loop->Stop();
                                 }});
  in_set_up.WaitForNotification();
  thread.RequestStop();
  release_set_up.Notify();
  EXPECT_TRUE(thread.WaitReady().ok());
  thread.Join();  // ends without another stop request
  EXPECT_TRUE(stop_after_set_up.load());
}

TEST_F(ShardThreadTest, TheDestructorStopsAndJoins) {
  std::atomic<bool> torn_down{false};
  {
    ShardThread thread({});
    thread.Start(TestLoops(), {.tear_down = [&] { torn_down = true; }});
    ASSERT_TRUE(thread.WaitReady().ok());
  }
  EXPECT_TRUE(torn_down.load());
}

TEST_F(ShardThreadTest, RunsOnTheCpuItIsPinnedTo) {
  const std::vector<int> allowed = AllowedCpus();
  ASSERT_FALSE(allowed.empty());
  // The last allowed CPU: with more than one, not where an unpinned thread would have to be.
  const int cpu = allowed.back();
  std::vector<int> mask;
  int ran_on = -1;
  ShardThread thread({.cpu = cpu});
  thread.Start(TestLoops(), {.set_up = [&](Loop*) {
                 cpu_set_t set;
                 CPU_ZERO(&set);
                 if (sched_getaffinity(0, sizeof(set), &set) != 0) {
                   return absl::InternalError("sched_getaffinity");
                 }
                 for (int c = 0; c < CPU_SETSIZE; ++c) {
                   if (CPU_ISSET(c, &set)) mask.push_back(c);
                 }
                 ran_on = sched_getcpu();
                 return absl::OkStatus();
               }});
  ASSERT_TRUE(thread.WaitReady().ok());
  thread.RequestStop();
  thread.Join();
  EXPECT_EQ(mask, std::vector<int>{cpu});
  EXPECT_EQ(ran_on, cpu);
}

TEST_F(ShardThreadTest, AnUnpinnedThreadKeepsTheProcesssCpus) {
  std::vector<int> mask;
  ShardThread thread({.cpu = -1});
  thread.Start(TestLoops(), {.set_up = [&](Loop*) {
                 cpu_set_t set;
                 CPU_ZERO(&set);
                 sched_getaffinity(0, sizeof(set), &set);
                 for (int c = 0; c < CPU_SETSIZE; ++c) {
                   if (CPU_ISSET(c, &set)) mask.push_back(c);
                 }
                 return absl::OkStatus();
               }});
  ASSERT_TRUE(thread.WaitReady().ok());
  thread.RequestStop();
  thread.Join();
  EXPECT_EQ(mask, AllowedCpus());
}

TEST_F(ShardThreadTest, NamesTheThreadCuttingLongNames) {
  const std::pair<std::string, std::string> cases[] = {{"shard-7", "shard-7"},
                                                       {"source-4294967295", "source-42949672"}};
  for (const auto& [given, expected] : cases) {
    std::string name;
    ShardThread thread({.name = given});
    thread.Start(TestLoops(), {.set_up = [&](Loop*) {
                   char buffer[16] = {};
                   pthread_getname_np(pthread_self(), buffer, sizeof(buffer));
                   name = buffer;
                   return absl::OkStatus();
                 }});
    ASSERT_TRUE(thread.WaitReady().ok());
    thread.RequestStop();
    thread.Join();
    EXPECT_EQ(name, expected);
  }
}

TEST(AllowedCpus, ListsTheAffinityMaskInOrder) {
  cpu_set_t set;
  CPU_ZERO(&set);
  ASSERT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
  const std::vector<int> cpus = AllowedCpus();
  EXPECT_EQ(cpus.size(), static_cast<size_t>(CPU_COUNT(&set)));
  for (size_t i = 0; i < cpus.size(); ++i) {
    EXPECT_TRUE(CPU_ISSET(cpus[i], &set));
    if (i > 0) EXPECT_LT(cpus[i - 1], cpus[i]);
  }
}

}  // namespace
}  // namespace tern::core
