// Tests of net/destination_pool.h: limits shared by threads, parking, idle expiry, rate.
#include "net/destination_pool.h"

#include <atomic>
#include <thread>
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
  for (int t = 0; t < 4; ++t) {
    shards.emplace_back([&] {
      auto d = pools.Get(Key("192.0.2.1"));
      for (int i = 0; i < 20000; ++i) {
        if (d->TryReserveConnection()) {
          int now = ++reserved;
          int seen = peak.load();
          while (now > seen && !peak.compare_exchange_weak(seen, now)) {
          }
          --reserved;
          d->ConnectionClosed();
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
  EXPECT_TRUE(d.TryReserveConnection());
  EXPECT_TRUE(d.TryReserveConnection());
  EXPECT_FALSE(d.TryReserveConnection());
  d.ConnectionClosed();
  EXPECT_TRUE(d.TryReserveConnection());
}

TEST(Destination, ParkTakeNewestAndExpire) {
  DestinationLimits limits;
  limits.idle_timeout = absl::Seconds(30);
  Destination d(Key("192.0.2.1"), limits);
  ASSERT_TRUE(d.TryReserveConnection());
  ASSERT_TRUE(d.TryReserveConnection());
  EXPECT_TRUE(d.Park({.fd = 10, .messages_sent = 1, .capabilities = "", .parked_at = kNow}));
  EXPECT_TRUE(d.Park(
      {.fd = 11, .messages_sent = 1, .capabilities = "", .parked_at = kNow + absl::Seconds(20)}));
  std::vector<int> expired;
  auto taken = d.TakeIdle(kNow + absl::Seconds(25), &expired);
  ASSERT_TRUE(taken.has_value());
  EXPECT_EQ(taken->fd, 11);  // the newest: the warmest connection
  EXPECT_TRUE(expired.empty());
  // fd 10 is 40 s idle by now.
  EXPECT_EQ(d.ExpireIdle(kNow + absl::Seconds(40)), std::vector<int>({10}));
  EXPECT_EQ(d.idle_connections(), 0u);
  EXPECT_EQ(d.open_connections(), 2u);  // closing is the caller's job, then:
  d.ConnectionClosed();
  EXPECT_EQ(d.open_connections(), 1u);
}

TEST(Destination, TakeIdleSkipsExpiredOnes) {
  DestinationLimits limits;
  limits.idle_timeout = absl::Seconds(5);
  Destination d(Key("192.0.2.1"), limits);
  ASSERT_TRUE(d.Park({.fd = 7, .messages_sent = 0, .capabilities = "", .parked_at = kNow}));
  std::vector<int> expired;
  EXPECT_FALSE(d.TakeIdle(kNow + absl::Seconds(6), &expired).has_value());
  EXPECT_EQ(expired, std::vector<int>({7}));
}

TEST(Destination, MessagesPerConnectionLimitRefusesParking) {
  DestinationLimits limits;
  limits.max_messages_per_connection = 3;
  Destination d(Key("192.0.2.1"), limits);
  EXPECT_TRUE(d.Park({.fd = 1, .messages_sent = 2, .capabilities = "", .parked_at = kNow}));
  EXPECT_FALSE(d.Park({.fd = 2, .messages_sent = 3, .capabilities = "", .parked_at = kNow}));
}

TEST(Destination, TokenBucketLimitsTheRate) {
  DestinationLimits limits;
  limits.max_messages_per_second = 10;
  Destination d(Key("192.0.2.1"), limits);
  int sent = 0;
  for (int i = 0; i < 100; ++i) sent += d.TryTakeSendToken(kNow) ? 1 : 0;
  EXPECT_EQ(sent, 10);  // the burst
  EXPECT_FALSE(d.TryTakeSendToken(kNow + absl::Milliseconds(50)));
  EXPECT_TRUE(d.TryTakeSendToken(kNow + absl::Milliseconds(150)));
  Destination unlimited(Key("192.0.2.2"), DestinationLimits{});
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(unlimited.TryTakeSendToken(kNow));
}

}  // namespace
}  // namespace tern::net
