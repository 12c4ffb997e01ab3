// Tests of core/timer_wheel.h: never early, cancel, re-arm, timers longer than a lap.
#include "core/timer_wheel.h"

#include <vector>

#include "gtest/gtest.h"

namespace tern::core {
namespace {

class RecordingTimer : public Timer {
 public:
  explicit RecordingTimer(std::vector<int>* fired, int id) : fired_(fired), id_(id) {}
  void OnTimer() override { fired_->push_back(id_); }

 private:
  std::vector<int>* fired_;
  int id_;
};

const absl::Time kStart = absl::FromUnixSeconds(1'700'000'000);

TEST(TimerWheel, FiresAtDeadlineNeverBefore) {
  TimerWheel wheel;
  wheel.Advance(kStart);
  std::vector<int> fired;
  RecordingTimer timer(&fired, 1);
  wheel.Arm(&timer, kStart + absl::Milliseconds(250));
  wheel.Advance(kStart + absl::Milliseconds(249));
  EXPECT_TRUE(fired.empty());
  EXPECT_TRUE(timer.armed());
  wheel.Advance(kStart + absl::Milliseconds(250));
  EXPECT_EQ(fired, std::vector<int>({1}));
  EXPECT_FALSE(timer.armed());
  EXPECT_EQ(wheel.armed_count(), 0u);
}

TEST(TimerWheel, CancelAndRearm) {
  TimerWheel wheel;
  wheel.Advance(kStart);
  std::vector<int> fired;
  RecordingTimer a(&fired, 1), b(&fired, 2);
  wheel.Arm(&a, kStart + absl::Milliseconds(100));
  wheel.Arm(&b, kStart + absl::Milliseconds(100));
  wheel.Cancel(&a);
  wheel.Arm(&b, kStart + absl::Seconds(5));  // re-armed later
  wheel.Advance(kStart + absl::Seconds(1));
  EXPECT_TRUE(fired.empty());
  wheel.Advance(kStart + absl::Seconds(5));
  EXPECT_EQ(fired, std::vector<int>({2}));
}

TEST(TimerWheel, TimerLongerThanOneLapWaitsForItsLap) {
  TimerWheel wheel;
  wheel.Advance(kStart);
  std::vector<int> fired;
  RecordingTimer timer(&fired, 7);
  const absl::Duration lap = absl::Milliseconds(TimerWheel::kTickMs * TimerWheel::kSlots);
  wheel.Arm(&timer, kStart + lap * 3 + absl::Milliseconds(30));
  for (absl::Time t = kStart; t < kStart + lap * 3; t += absl::Milliseconds(100)) {
    wheel.Advance(t);
  }
  EXPECT_TRUE(fired.empty());
  wheel.Advance(kStart + lap * 3 + absl::Milliseconds(30));
  EXPECT_EQ(fired, std::vector<int>({7}));
}

TEST(TimerWheel, DestroyedTimerIsUnlinked) {
  TimerWheel wheel;
  wheel.Advance(kStart);
  std::vector<int> fired;
  {
    RecordingTimer timer(&fired, 1);
    wheel.Arm(&timer, kStart + absl::Milliseconds(10));
  }
  EXPECT_EQ(wheel.armed_count(), 0u);
  wheel.Advance(kStart + absl::Seconds(1));
  EXPECT_TRUE(fired.empty());
}

TEST(TimerWheel, NextDeadlinePollsWhileArmed) {
  TimerWheel wheel;
  wheel.Advance(kStart);
  EXPECT_EQ(wheel.NextDeadline(), absl::InfiniteFuture());
  std::vector<int> fired;
  RecordingTimer timer(&fired, 1);
  wheel.Arm(&timer, kStart + absl::Seconds(300));
  EXPECT_LE(wheel.NextDeadline(), kStart + absl::Milliseconds(TimerWheel::kPollMs));
  wheel.Arm(&timer, kStart + absl::Milliseconds(30));
  EXPECT_EQ(wheel.NextDeadline(), kStart + absl::Milliseconds(30));
}

TEST(TimerWheel, TimersArmedBeforeAnAdvanceKeepTheirDeadlineAfterIt) {
  // A throttled lane arms its wake-up a few ms ahead, then the loop advances the wheel
  // before sleeping: the loop must sleep until that deadline, not a whole poll interval.
  TimerWheel wheel;
  wheel.Advance(kStart);
  std::vector<int> fired;
  RecordingTimer soon(&fired, 1);
  RecordingTimer later(&fired, 2);
  wheel.Arm(&soon, kStart + absl::Milliseconds(7));
  wheel.Arm(&later, kStart + absl::Milliseconds(23));
  wheel.Advance(kStart + absl::Milliseconds(1));
  EXPECT_EQ(wheel.NextDeadline(), kStart + absl::Milliseconds(7));
  wheel.Advance(kStart + absl::Milliseconds(7));
  EXPECT_EQ(fired, std::vector<int>({1}));
  EXPECT_EQ(wheel.NextDeadline(), kStart + absl::Milliseconds(23));
}

TEST(TimerWheel, ManyTimersFireInOneAdvanceAfterAStall) {
  TimerWheel wheel;
  wheel.Advance(kStart);
  std::vector<int> fired;
  std::vector<std::unique_ptr<RecordingTimer>> timers;
  for (int i = 0; i < 1000; ++i) {
    timers.push_back(std::make_unique<RecordingTimer>(&fired, i));
    wheel.Arm(timers.back().get(), kStart + absl::Milliseconds(i * 7));
  }
  wheel.Advance(kStart + absl::Seconds(10));
  EXPECT_EQ(fired.size(), 1000u);
  EXPECT_EQ(wheel.armed_count(), 0u);
}

}  // namespace
}  // namespace tern::core

namespace tern::core {
namespace {

// A timer whose callback destroys another timer that is due at the same time.
class Destroyer : public Timer {
 public:
  explicit Destroyer(std::unique_ptr<Timer>* victim) : victim_(victim) {}
  void OnTimer() override { victim_->reset(); }

 private:
  std::unique_ptr<Timer>* victim_;
};

TEST(TimerWheel, CallbackMayDestroyAnotherDueTimer) {
  TimerWheel wheel;
  wheel.Advance(kStart);
  std::vector<int> fired;
  std::unique_ptr<Timer> a = std::make_unique<RecordingTimer>(&fired, 1);
  std::unique_ptr<Timer> b;
  Destroyer killer_of_a(&a);
  wheel.Arm(a.get(), kStart + absl::Milliseconds(10));
  wheel.Arm(&killer_of_a, kStart + absl::Milliseconds(10));
  wheel.Advance(kStart + absl::Seconds(1));
  // Either a fired before the destroyer ran, or it was destroyed first: never a dangling call.
  EXPECT_LE(fired.size(), 1u);
  EXPECT_EQ(wheel.armed_count(), 0u);
}

TEST(TimerWheel, CallbackMayRearmItself) {
  TimerWheel wheel;
  wheel.Advance(kStart);
  struct Repeating : Timer {
    TimerWheel* wheel;
    int count = 0;
    void OnTimer() override {
      if (++count < 3) wheel->Arm(this, deadline() + absl::Milliseconds(100));
    }
  } timer;
  timer.wheel = &wheel;
  wheel.Arm(&timer, kStart + absl::Milliseconds(100));
  for (int i = 1; i <= 5; ++i) wheel.Advance(kStart + absl::Milliseconds(100 * i));
  EXPECT_EQ(timer.count, 3);
}

}  // namespace
}  // namespace tern::core
