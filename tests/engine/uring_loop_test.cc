// Tests of engine/uring/uring_loop.h (core::Loop on a real ring): completions reach their
// Completion, iteration hooks run, timers fire, RunSoon calls back later, another thread's
// Wake() reaches the wake handler.
#include "engine/uring/uring_loop.h"

#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace tern::engine {
namespace {

using core::Completion;
using core::Loop;
using core::Mailbox;
using core::Timer;

class CountingCompletion : public Completion {
 public:
  void OnComplete(int32_t res, uint32_t flags) override {
    ++count;
    last_res = res;
  }
  int count = 0;
  int32_t last_res = -1;
};

class StopTimer : public Timer {
 public:
  explicit StopTimer(Loop* loop) : loop_(loop) {}
  void OnTimer() override {
    fired = true;
    loop_->Stop();
  }
  bool fired = false;

 private:
  Loop* loop_;
};

TEST(UringLoop, NopCompletesAndTimerStopsTheLoop) {
  auto loop = uring::UringLoop::Create(uring::UringLoopOptions{});
  if (!loop.ok()) GTEST_SKIP() << "io_uring unavailable: " << loop.status();
  CountingCompletion nop;
  io_uring_prep_nop((*loop)->PrepareSqe(&nop));
  int iterations = 0;
  (*loop)->AddIterationHook([&] { ++iterations; });
  StopTimer stop(loop->get());
  (*loop)->timers().Arm(&stop, absl::Now() + absl::Milliseconds(50));
  (*loop)->Run();
  EXPECT_EQ(nop.count, 1);
  EXPECT_EQ(nop.last_res, 0);
  EXPECT_TRUE(stop.fired);
  EXPECT_GE(iterations, 1);
}

TEST(UringLoop, RunSoonCallsLaterInOrderNeverInsideTheCall) {
  auto loop = uring::UringLoop::Create(uring::UringLoopOptions{});
  if (!loop.ok()) GTEST_SKIP() << "io_uring unavailable: " << loop.status();
  Loop* raw = loop->get();
  std::vector<int> calls;
  raw->RunSoon([&] { calls.push_back(1); });
  raw->RunSoon([&] {
    calls.push_back(2);
    raw->RunSoon([&] {  // from a completion too: still later
      calls.push_back(3);
      raw->Stop();
    });
    EXPECT_EQ(calls.size(), 2u);
  });
  EXPECT_TRUE(calls.empty());
  StopTimer stop(raw);  // bound, should RunSoon never complete
  raw->timers().Arm(&stop, absl::Now() + absl::Seconds(10));
  raw->Run();
  EXPECT_EQ(calls, (std::vector<int>{1, 2, 3}));
  EXPECT_FALSE(stop.fired);
}

TEST(UringLoop, WakeFromAnotherThread) {
  auto loop = uring::UringLoop::Create(uring::UringLoopOptions{});
  if (!loop.ok()) GTEST_SKIP() << "io_uring unavailable: " << loop.status();
  Loop* raw = loop->get();
  int wakes = 0;
  raw->SetWakeHandler([&] {
    ++wakes;
    raw->Stop();
  });
  std::thread waker([raw] { raw->Wake(); });
  raw->Run();
  waker.join();
  EXPECT_GE(wakes, 1);
}

TEST(UringLoop, MailboxRunsPostedWorkOnTheLoopInOrderAndRefusesOnceGone) {
  auto loop = uring::UringLoop::Create(uring::UringLoopOptions{});
  if (!loop.ok()) GTEST_SKIP() << "io_uring unavailable: " << loop.status();
  Loop* raw = loop->get();
  std::shared_ptr<Mailbox> mailbox = raw->mailbox();
  const std::thread::id loop_thread = std::this_thread::get_id();
  std::vector<int> ran;
  bool on_loop_thread = true;
  std::thread sender([&] {
    for (int i = 0; i < 100; ++i) {
      EXPECT_TRUE(mailbox->Post([&, i] {
        on_loop_thread = on_loop_thread && std::this_thread::get_id() == loop_thread;
        ran.push_back(i);
        if (i == 99) raw->Stop();
      }));
    }
  });
  raw->Run();
  sender.join();
  ASSERT_EQ(ran.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(ran[i], i);
  EXPECT_TRUE(on_loop_thread);
  loop->reset();
  EXPECT_FALSE(mailbox->Post([] {}));
}

TEST(UringLoop, FeaturesAreDescribed) {
  auto loop = uring::UringLoop::Create(uring::UringLoopOptions{});
  if (!loop.ok()) GTEST_SKIP() << "io_uring unavailable: " << loop.status();
  EXPECT_NE((*loop)->features().Describe().find("multishot_recv="), std::string::npos);
}

}  // namespace
}  // namespace tern::engine
