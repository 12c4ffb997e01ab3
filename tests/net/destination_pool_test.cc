// Tests of net/destination_pool.h: limits shared by threads, parking, idle expiry, and the
// shards' shares of a limit (a waiting shard is told when a slot frees, holders give back).
#include "net/destination_pool.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace tern::net {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);

DestinationKey Key(const char* host) {
  DestinationKey key;
  key.host = host;
  key.port = 25;
  return key;
}

TEST(DestinationPools, SameKeySameEntry) {
  DestinationPools pools(DestinationLimits{});
  auto a = pools.Get(Key("192.0.2.1"));
  auto b = pools.Get(Key("192.0.2.1"));
  auto c = pools.Get(Key("192.0.2.2"));
  EXPECT_EQ(a.get(), b.get());
  EXPECT_NE(a.get(), c.get());
  EXPECT_EQ(pools.size(), 2u);
  EXPECT_EQ(Key("2001:db8::1").ToString(), "[2001:db8::1]:25");
}

TEST(Destination, ConnectionLimitHoldsAcrossThreads) {
  DestinationLimits limits;
  limits.max_connections = 20;
  DestinationPools pools(limits);
  std::atomic<int> reserved{0};
  std::atomic<int> peak{0};
  std::vector<std::thread> shards;
  for (uint32_t t = 0; t < 4; ++t) {
    shards.emplace_back([&, t] {
      auto d = pools.Get(Key("192.0.2.1"));
      for (int i = 0; i < 20000; ++i) {
        if (d->TryReserveConnection(t)) {
          int now = ++reserved;
          int seen = peak.load();
          while (now > seen && !peak.compare_exchange_weak(seen, now)) {
          }
          --reserved;
          d->ConnectionClosed(t);
        }
      }
    });
  }
  for (auto& t : shards) t.join();
  EXPECT_LE(peak.load(), 20);
  EXPECT_EQ(pools.Get(Key("192.0.2.1"))->open_connections(), 0u);
}

TEST(Destination, ReserveFailsAtTheLimitUntilOneCloses) {
  DestinationLimits limits;
  limits.max_connections = 2;
  Destination d(Key("192.0.2.1"), limits);
  EXPECT_TRUE(d.TryReserveConnection(0));
  EXPECT_TRUE(d.TryReserveConnection(0));
  EXPECT_FALSE(d.TryReserveConnection(0));
  d.ConnectionClosed(0);
  EXPECT_TRUE(d.TryReserveConnection(0));
}

// A real descriptor the destination may close (it closes expired parked ones itself).
int OpenFd() {
  const int fd = eventfd(0, EFD_CLOEXEC);
  EXPECT_GE(fd, 0);
  return fd;
}

bool IsOpen(int fd) { return fcntl(fd, F_GETFD) != -1; }

TEST(Destination, ParkTakeNewestAndExpire) {
  DestinationLimits limits;
  limits.idle_timeout = absl::Seconds(30);
  Destination d(Key("192.0.2.1"), limits);
  ASSERT_TRUE(d.TryReserveConnection(0));
  ASSERT_TRUE(d.TryReserveConnection(0));
  const int older = OpenFd();
  const int newer = OpenFd();
  EXPECT_TRUE(d.Park({.fd = older, .messages_sent = 1, .capabilities = "", .parked_at = kNow}, 0));
  EXPECT_TRUE(d.Park(
      {.fd = newer, .messages_sent = 1, .capabilities = "", .parked_at = kNow + absl::Seconds(20)},
      0));
  auto taken = d.TakeIdle(kNow + absl::Seconds(25), 1);
  ASSERT_TRUE(taken.has_value());
  EXPECT_EQ(taken->fd, newer);  // the newest: the warmest connection
  EXPECT_TRUE(IsOpen(older));
  // The older one is 40 s idle by now: closed and counted out.
  EXPECT_EQ(d.ExpireIdle(kNow + absl::Seconds(40)), 1u);
  EXPECT_FALSE(IsOpen(older));
  EXPECT_EQ(d.idle_connections(), 0u);
  EXPECT_EQ(d.open_connections(), 1u);  // the one shard 1 took
  d.ConnectionClosed(1);
  EXPECT_EQ(d.open_connections(), 0u);
  close(newer);
}

TEST(Destination, TakeIdleClosesExpiredOnes) {
  DestinationLimits limits;
  limits.idle_timeout = absl::Seconds(5);
  Destination d(Key("192.0.2.1"), limits);
  ASSERT_TRUE(d.TryReserveConnection(0));
  const int fd = OpenFd();
  ASSERT_TRUE(d.Park({.fd = fd, .messages_sent = 0, .capabilities = "", .parked_at = kNow}, 0));
  EXPECT_FALSE(d.TakeIdle(kNow + absl::Seconds(6), 0).has_value());
  EXPECT_FALSE(IsOpen(fd));
  EXPECT_EQ(d.open_connections(), 0u);
}

TEST(Destination, MessagesPerConnectionLimitRefusesParking) {
  DestinationLimits limits;
  limits.max_messages_per_connection = 3;
  Destination d(Key("192.0.2.1"), limits);
  ASSERT_TRUE(d.TryReserveConnection(0));
  ASSERT_TRUE(d.TryReserveConnection(0));
  const int fd = OpenFd();
  EXPECT_TRUE(d.Park({.fd = fd, .messages_sent = 2, .capabilities = "", .parked_at = kNow}, 0));
  EXPECT_FALSE(d.Park({.fd = 99, .messages_sent = 3, .capabilities = "", .parked_at = kNow}, 0));
  EXPECT_EQ(d.idle_connections(), 1u);
}

// What each shard was told, in order.
struct Told {
  void Register(PoolWakeups& wakeups, uint32_t shard) {
    wakeups.Register(shard, [this, shard](PoolWakeups::Reason why) {
      absl::MutexLock lock(&mu);
      log.push_back({shard, why});
    });
  }
  std::vector<std::pair<uint32_t, PoolWakeups::Reason>> Take() {
    absl::MutexLock lock(&mu);
    return std::exchange(log, {});
  }
  absl::Mutex mu;
  std::vector<std::pair<uint32_t, PoolWakeups::Reason>> log;
};

using Reason = PoolWakeups::Reason;
using Event = std::pair<uint32_t, PoolWakeups::Reason>;

TEST(Destination, AWaitingShardGetsItsShareAndIsWokenWhenASlotFrees) {
  DestinationLimits limits;
  limits.max_connections = 4;
  DestinationPools pools(limits);
  Told told;
  told.Register(pools.wakeups(), 0);
  told.Register(pools.wakeups(), 1);
  auto d = pools.Get(Key("192.0.2.1"));
  // Shard 0 alone takes the whole limit.
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(d->TryReserveConnection(0));
  EXPECT_FALSE(d->ShouldYield(0));  // nobody waits
  // Shard 1 finds none: it waits, and shard 0 (which holds them) is told.
  EXPECT_FALSE(d->TryReserveConnection(1));
  EXPECT_EQ(told.Take(), std::vector<Event>({{0, Reason::kSomeoneWaits}}));
  EXPECT_FALSE(d->TryReserveConnection(1));  // still waiting: nobody told twice
  EXPECT_TRUE(told.Take().empty());
  EXPECT_TRUE(d->OthersWait(0));
  EXPECT_FALSE(d->OthersWait(1));
  // Shard 0 holds 4 of a fair 2: it should give back.
  EXPECT_TRUE(d->ShouldYield(0));
  d->ConnectionClosed(0);
  EXPECT_EQ(told.Take(), std::vector<Event>({{1, Reason::kSlotMayBeFree}}));
  // The freed slot is shard 1's, not shard 0's again.
  EXPECT_FALSE(d->TryReserveConnection(0));
  told.Take();
  EXPECT_TRUE(d->TryReserveConnection(1));
  EXPECT_TRUE(d->OthersWait(1));  // shard 0, refused above, waits now
  // Shard 1 has one and no longer waits, until it asks for more.
  EXPECT_FALSE(d->ShouldYield(0));
  EXPECT_FALSE(d->TryReserveConnection(1));  // the limit: 3 + 1
  EXPECT_EQ(told.Take(), std::vector<Event>({{0, Reason::kSomeoneWaits}}));
  // Shard 0 gives back one more (3 of a fair 2); then the split is even.
  EXPECT_TRUE(d->ShouldYield(0));
  const int fd = OpenFd();
  ASSERT_TRUE(
      d->Park({.fd = fd, .messages_sent = 1, .capabilities = "", .parked_at = absl::Now()}, 0));
  // Both wait, both are told.
  EXPECT_EQ(told.Take(),
            std::vector<Event>({{0, Reason::kSlotMayBeFree}, {1, Reason::kSlotMayBeFree}}));
  // The parked one goes to shard 1 (below its share), never back to shard 0 (at it).
  d->StopWaiting(0);
  auto taken = d->TakeIdle(absl::Now(), 1);
  ASSERT_TRUE(taken.has_value());
  EXPECT_EQ(taken->fd, fd);
  close(fd);
  EXPECT_FALSE(d->ShouldYield(0));
  EXPECT_FALSE(d->ShouldYield(1));
  EXPECT_EQ(d->open_connections(), 4u);
  pools.wakeups().Unregister(0);
  pools.wakeups().Unregister(1);
}

TEST(Destination, ParkedConnectionsStayForTheWaitingShard) {
  DestinationLimits limits;
  limits.max_connections = 2;
  Destination d(Key("192.0.2.1"), limits);
  ASSERT_TRUE(d.TryReserveConnection(0));
  ASSERT_TRUE(d.TryReserveConnection(0));
  EXPECT_FALSE(d.TryReserveConnection(1));  // shard 1 waits
  const int fd = OpenFd();
  ASSERT_TRUE(
      d.Park({.fd = fd, .messages_sent = 1, .capabilities = "", .parked_at = absl::Now()}, 0));
  // Shard 0 still holds one, its share of two: the parked one is not for it.
  EXPECT_FALSE(d.TakeIdle(absl::Now(), 0).has_value());
  EXPECT_EQ(d.idle_connections(), 1u);
  auto taken = d.TakeIdle(absl::Now(), 1);
  ASSERT_TRUE(taken.has_value());
  close(taken->fd);
}

}  // namespace
}  // namespace tern::net
