// Tests of core/spsc_queue.h: bounded, FIFO, safe between one producer and one consumer.
#include "core/spsc_queue.h"

#include <thread>

#include "gtest/gtest.h"

namespace tern::core {
namespace {

TEST(SpscQueue, BoundedFifo) {
  SpscQueue<int> queue(3);
  EXPECT_TRUE(queue.Empty());
  EXPECT_TRUE(queue.Push(1));
  EXPECT_TRUE(queue.Push(2));
  EXPECT_TRUE(queue.Push(3));
  EXPECT_FALSE(queue.Push(4));  // full: the producer is told
  EXPECT_EQ(queue.Pop(), 1);
  EXPECT_TRUE(queue.Push(4));
  EXPECT_EQ(queue.Pop(), 2);
  EXPECT_EQ(queue.Pop(), 3);
  EXPECT_EQ(queue.Pop(), 4);
  EXPECT_EQ(queue.Pop(), std::nullopt);
}

TEST(SpscQueue, TwoThreadsSeeEveryValueInOrder) {
  SpscQueue<uint64_t> queue(64);
  constexpr uint64_t kValues = 200'000;
  std::thread producer([&] {
    for (uint64_t i = 0; i < kValues;) {
      if (queue.Push(i)) ++i;
    }
  });
  uint64_t expected = 0;
  while (expected < kValues) {
    if (auto v = queue.Pop()) {
      ASSERT_EQ(*v, expected);
      ++expected;
    }
  }
  producer.join();
  EXPECT_TRUE(queue.Empty());
}

}  // namespace
}  // namespace tern::core
