// ScheduledQueue on a real core::Loop and its timer wheel: due messages come back in due
// order, at most kDuePerTick per timer callback; Add moves, Remove and Stop take out.
#include "queue/scheduled_queue.h"

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/loop.h"
#include "gtest/gtest.h"
#include "tests/engine/test_engine.h"
#include "tests/spool/spool_test_util.h"

namespace tern::queue {
namespace {

using spool::testing::RunUntil;

std::unique_ptr<core::Loop> NewLoop() {
  auto loop = engine::CreateLoop(tern::engine::testing::TestIoEngine());
  CHECK(loop.ok());
  return std::move(*loop);
}

int64_t UnixUs(absl::Time t) { return absl::ToUnixMicros(t); }

TEST(ScheduledQueueTest, DueEntriesComeBackInDueOrder) {
  auto loop = NewLoop();
  std::vector<uint64_t> due;
  ScheduledQueue queue(loop.get(), [&](uint64_t id) { due.push_back(id); });
  const absl::Time now = absl::Now();
  queue.Add(3, UnixUs(now - absl::Seconds(1)));
  queue.Add(1, UnixUs(now - absl::Seconds(3)));
  queue.Add(2, UnixUs(now - absl::Seconds(2)));
  queue.Add(5, UnixUs(now + absl::Milliseconds(120)));
  queue.Add(4, UnixUs(now + absl::Milliseconds(40)));
  queue.Add(6, UnixUs(now + absl::Hours(1)));
  EXPECT_EQ(queue.size(), 6u);
  EXPECT_TRUE(queue.Contains(6));
  EXPECT_EQ(queue.handed_out(), 0u) << "nothing is handed out inside Add()";

  ASSERT_TRUE(RunUntil(loop.get(), [&] { return due.size() >= 5; }));
  EXPECT_EQ(due, (std::vector<uint64_t>{1, 2, 3, 4, 5}));
  EXPECT_GE(absl::Now(), now + absl::Milliseconds(120)) << "5 came back before its time";
  EXPECT_EQ(queue.handed_out(), 5u);
  EXPECT_EQ(queue.size(), 1u);
  EXPECT_TRUE(queue.Contains(6));
  EXPECT_FALSE(queue.Contains(1));
}

TEST(ScheduledQueueTest, AddAgainMovesTheEntry) {
  auto loop = NewLoop();
  std::vector<uint64_t> due;
  ScheduledQueue queue(loop.get(), [&](uint64_t id) { due.push_back(id); });
  const absl::Time now = absl::Now();
  queue.Add(1, UnixUs(now + absl::Hours(1)));
  queue.Add(2, UnixUs(now - absl::Seconds(1)));
  queue.Add(1, UnixUs(now - absl::Seconds(2)));  // earlier: now due
  queue.Add(2, UnixUs(now + absl::Hours(2)));    // later: no longer due
  EXPECT_EQ(queue.size(), 2u) << "a message is in the queue at most once";
  queue.Add(3, UnixUs(now - absl::Seconds(1)));  // a sentinel: due after 1

  ASSERT_TRUE(RunUntil(loop.get(), [&] { return due.size() >= 2; }));
  EXPECT_EQ(due, (std::vector<uint64_t>{1, 3}));
  EXPECT_EQ(queue.handed_out(), 2u);
  EXPECT_EQ(queue.size(), 1u);
  EXPECT_TRUE(queue.Contains(2));
}

TEST(ScheduledQueueTest, RemovedEntriesAreNotHandedOut) {
  auto loop = NewLoop();
  std::vector<uint64_t> due;
  ScheduledQueue queue(loop.get(), [&](uint64_t id) { due.push_back(id); });
  const absl::Time now = absl::Now();
  queue.Add(1, UnixUs(now - absl::Seconds(2)));
  queue.Add(2, UnixUs(now - absl::Seconds(1)));
  queue.Add(3, UnixUs(now + absl::Milliseconds(50)));
  EXPECT_TRUE(queue.Remove(1));
  EXPECT_FALSE(queue.Remove(1)) << "it was no longer waiting";
  EXPECT_FALSE(queue.Remove(42));
  EXPECT_FALSE(queue.Contains(1));
  EXPECT_EQ(queue.size(), 2u);

  ASSERT_TRUE(RunUntil(loop.get(), [&] { return due.size() >= 2; }));
  EXPECT_EQ(due, (std::vector<uint64_t>{2, 3}));
  EXPECT_EQ(queue.handed_out(), 2u);
  EXPECT_EQ(queue.size(), 0u);
}

TEST(ScheduledQueueTest, RemovingTheOnlyEntryCancelsTheTimer) {
  auto loop = NewLoop();
  uint64_t handed_out = 0;
  ScheduledQueue queue(loop.get(), [&](uint64_t) { ++handed_out; });
  queue.Add(1, UnixUs(absl::Now() - absl::Seconds(1)));
  EXPECT_TRUE(queue.Remove(1));
  EXPECT_EQ(loop->timers().armed_count(), 0u);
}

TEST(ScheduledQueueTest, StopHandsOutNothingMore) {
  auto loop = NewLoop();
  std::vector<uint64_t> due;
  ScheduledQueue queue(loop.get(), [&](uint64_t id) { due.push_back(id); });
  // A timer of the test's own, well after the entries' due time: the run ends there.
  struct After final : core::Timer {
    bool fired = false;
    void OnTimer() override { fired = true; }
  } after;
  const absl::Time now = absl::Now();
  queue.Add(1, UnixUs(now - absl::Seconds(1)));
  queue.Add(2, UnixUs(now + absl::Milliseconds(20)));
  queue.Stop();
  EXPECT_EQ(loop->timers().armed_count(), 0u);
  queue.Add(3, UnixUs(now - absl::Seconds(1)));  // kept, but arms nothing
  EXPECT_EQ(loop->timers().armed_count(), 0u);
  loop->timers().Arm(&after, now + absl::Milliseconds(150));

  ASSERT_TRUE(RunUntil(loop.get(), [&] { return after.fired; }));
  EXPECT_TRUE(due.empty());
  EXPECT_EQ(queue.handed_out(), 0u);
  EXPECT_EQ(queue.ticks(), 0u);
  EXPECT_EQ(queue.size(), 3u);
  EXPECT_TRUE(queue.Contains(3));
}

TEST(ScheduledQueueTest, AtMostDuePerTickEachCallback) {
  auto loop = NewLoop();
  constexpr uint64_t kEntries = 10'000;
  static_assert(kEntries > 2 * ScheduledQueue::kDuePerTick);
  uint64_t handed_out = 0;
  std::vector<uint64_t> per_tick;  // handed out at each callback
  ScheduledQueue* queue_ptr = nullptr;
  ScheduledQueue queue(loop.get(), [&](uint64_t) {
    ++handed_out;
    if (per_tick.size() < queue_ptr->ticks()) per_tick.resize(queue_ptr->ticks(), 0);
    ++per_tick[queue_ptr->ticks() - 1];
  });
  queue_ptr = &queue;
  const int64_t due_us = UnixUs(absl::Now() - absl::Seconds(10));
  for (uint64_t id = 1; id <= kEntries; ++id) queue.Add(id, due_us + static_cast<int64_t>(id));
  EXPECT_EQ(queue.size(), kEntries);

  ASSERT_TRUE(RunUntil(loop.get(), [&] { return handed_out == kEntries; }));
  EXPECT_EQ(queue.handed_out(), kEntries);
  EXPECT_GE(queue.ticks(), 3u);
  for (size_t i = 0; i < per_tick.size(); ++i) {
    EXPECT_LE(per_tick[i], ScheduledQueue::kDuePerTick) << "callback " << i;
  }
  EXPECT_EQ(queue.size(), 0u);
}

TEST(ScheduledQueueTest, EntryAddedWhileHandingOutWaitsForItsTime) {
  auto loop = NewLoop();
  std::vector<uint64_t> due;
  std::vector<uint64_t> tick_of;  // the callback each id came back in
  ScheduledQueue* queue_ptr = nullptr;
  ScheduledQueue queue(loop.get(), [&](uint64_t id) {
    due.push_back(id);
    tick_of.push_back(queue_ptr->ticks());
    if (id == 1) {
      // Added for later from inside the callback: not in this pass.
      queue_ptr->Add(100, UnixUs(loop->now() + absl::Milliseconds(60)));
      EXPECT_TRUE(queue_ptr->Contains(100));
    }
  });
  queue_ptr = &queue;
  const absl::Time now = absl::Now();
  queue.Add(1, UnixUs(now - absl::Seconds(2)));
  queue.Add(2, UnixUs(now - absl::Seconds(1)));

  ASSERT_TRUE(RunUntil(loop.get(), [&] { return due.size() >= 3; }));
  EXPECT_EQ(due, (std::vector<uint64_t>{1, 2, 100}));
  ASSERT_EQ(tick_of.size(), 3u);
  EXPECT_EQ(tick_of[0], tick_of[1]) << "1 and 2 were due together";
  EXPECT_GT(tick_of[2], tick_of[1]) << "100 came back in the same pass as 1";
  EXPECT_EQ(queue.handed_out(), 3u);
}

}  // namespace
}  // namespace tern::queue
