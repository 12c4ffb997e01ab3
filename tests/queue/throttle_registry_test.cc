// ThrottleRegistry and ConnectionSlots (queue/throttle_registry.h, queue/connection_slots.h):
// one state per scope key, kept while held or not idle, dropped by Sweep otherwise; slots
// honour a lowered limit without closing anything.
#include "queue/throttle_registry.h"

#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace tern::queue {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);

TEST(ThrottleRegistry, SameKeySameStateAcrossGets) {
  ThrottleRegistry registry;
  auto a = registry.Get("provider:google");
  auto b = registry.Get("provider:google");
  auto c = registry.Get("provider:outlook");
  EXPECT_EQ(a.get(), b.get());
  EXPECT_NE(a.get(), c.get());
  EXPECT_EQ(a->key, "provider:google");
  EXPECT_EQ(registry.size(), 2u);
}

TEST(ThrottleRegistry, SweepKeepsHeldAndBusyEntriesDropsIdleOnes) {
  ThrottleRegistry registry;
  RateSpec rate;
  rate.count = 1;
  rate.period = absl::Minutes(1);
  rate.burst = 1;
  auto held = registry.Get("held");
  {
    auto busy = registry.Get("busy");
    ASSERT_EQ(busy->message_rate.TryTake(kStart, rate), absl::ZeroDuration());
    auto connected = registry.Get("connected");
    ASSERT_TRUE(connected->connections.TryAcquire(1));
    registry.Get("idle");
  }
  EXPECT_EQ(registry.Sweep(kStart), 1u);  // "idle"
  EXPECT_EQ(registry.size(), 3u);
  // A minute later "busy" is full again: forgetting it changes nothing, so it goes.
  EXPECT_EQ(registry.Sweep(kStart + absl::Minutes(1)), 1u);
  auto left = registry.Snapshot();
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0]->key, "connected");
  EXPECT_EQ(left[1]->key, "held");
  // Held by the snapshot: kept even when idle.
  left[0]->connections.Release();
  EXPECT_EQ(registry.Sweep(kStart + absl::Minutes(1)), 0u);
  left.clear();
  EXPECT_EQ(registry.Sweep(kStart + absl::Minutes(1)), 1u);
  EXPECT_EQ(registry.size(), 1u);
  EXPECT_EQ(registry.Get("held").get(), held.get());
}

// Shards get and drop entries while a maintenance thread sweeps: a held entry is never
// dropped, so every Get of a held key returns the held state.
TEST(ThrottleRegistry, SweepNeverDropsWhatAShardHolds) {
  ThrottleRegistry registry;
  std::atomic<bool> stop{false};
  std::atomic<int> mismatches{0};
  auto shard = [&](int id) {
    for (int round = 0; round < 2000; ++round) {
      const std::string key = absl::StrCat("site:", round % 7);
      auto held = registry.Get(key);
      for (int i = 0; i < 3; ++i) {
        if (registry.Get(key).get() != held.get()) ++mismatches;
      }
      if (round % 3 == id) registry.Get(absl::StrCat("transient:", round));
    }
  };
  std::thread sweeper([&] {
    while (!stop.load()) registry.Sweep(kStart);
  });
  std::thread a(shard, 0);
  std::thread b(shard, 1);
  a.join();
  b.join();
  stop = true;
  sweeper.join();
  EXPECT_EQ(mismatches.load(), 0);
  registry.Sweep(kStart);
  EXPECT_EQ(registry.size(), 0u);
}

TEST(ConnectionSlots, LoweredLimitKeepsOpenOnesRefusesNewUntilUnder) {
  ConnectionSlots slots;
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(slots.TryAcquire(5));
  EXPECT_FALSE(slots.TryAcquire(5));
  EXPECT_FALSE(slots.TryAcquire(3));  // limit lowered: the five stay open
  EXPECT_EQ(slots.open(), 5u);
  slots.Release();
  slots.Release();
  EXPECT_FALSE(slots.TryAcquire(3));  // 3 open, not under 3
  slots.Release();
  EXPECT_TRUE(slots.TryAcquire(3));
  EXPECT_EQ(slots.open(), 3u);
}

}  // namespace
}  // namespace tern::queue
