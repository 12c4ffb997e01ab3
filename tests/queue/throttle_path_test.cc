// ThrottlePath (queue/throttle_path.h): all-or-nothing takes over several shared cells, for
// messages and for connections; a refusal by a later limit never burns an earlier one; two
// threads sharing a cell never get more than burst + elapsed × rate.
#include "queue/throttle_path.h"

#include <atomic>
#include <limits>
#include <thread>

#include "gtest/gtest.h"
#include "queue/throttle_registry.h"

namespace tern::queue {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);

RateSpec Rate(uint64_t count, absl::Duration period, uint64_t burst) {
  RateSpec r;
  r.count = count;
  r.period = period;
  r.burst = burst;
  return r;
}

ThrottlePath::Limits MessageRate(const RateSpec& rate) {
  ThrottlePath::Limits l;
  l.message_rate = rate;
  return l;
}

TEST(ThrottlePath, MessageTokensOfAStep) {
  ThrottleRegistry registry;
  ThrottlePath path;
  path.Add(registry.Get("site:mx.example@"), MessageRate(Rate(10, absl::Seconds(1), 3)));
  path.Add(registry.Get("route:127.0.0.1:25@"), ThrottlePath::Limits{});
  EXPECT_EQ(path.MessageTokens(kStart, 0), 3u);            // a full bucket: the burst
  EXPECT_EQ(path.MessageTokens(kStart, 1), std::nullopt);  // no message rate there
  EXPECT_EQ(path.MessageTokens(kStart, 2), std::nullopt);  // no such step
  ASSERT_EQ(path.TryTakeAll(kStart), absl::ZeroDuration());
  EXPECT_EQ(path.MessageTokens(kStart, 0), 2u);
}

TEST(ThrottlePath, MessageTokensAllIsTheFewestOfAnyStep) {
  ThrottleRegistry registry;
  ThrottlePath path;
  EXPECT_EQ(path.MessageTokensAll(kStart), std::numeric_limits<uint64_t>::max());  // no rate
  path.Add(registry.Get("site:mx.example@"), MessageRate(Rate(10, absl::Seconds(1), 3)));
  path.Add(registry.Get("route:127.0.0.1:25@"), ThrottlePath::Limits{});
  path.Add(registry.Get("provider:p"), MessageRate(Rate(10, absl::Seconds(1), 2)));
  EXPECT_EQ(path.MessageTokensAll(kStart), 2u);
  ASSERT_EQ(path.TryTakeAll(kStart), absl::ZeroDuration());
  ASSERT_EQ(path.TryTakeAll(kStart), absl::ZeroDuration());
  EXPECT_EQ(path.MessageTokensAll(kStart), 0u);
  // One interval (100 ms) later each cell has given one back; asked ahead of time too.
  EXPECT_EQ(path.MessageTokensAll(kStart + absl::Milliseconds(99)), 0u);
  EXPECT_EQ(path.MessageTokensAll(kStart + absl::Milliseconds(100)), 1u);
  EXPECT_EQ(path.CheckAll(kStart), absl::Milliseconds(100));
}

TEST(ThrottlePath, RefusalByALaterLimitDoesNotBurnTheEarlierOnes) {
  ThrottleRegistry registry;
  auto provider = registry.Get("provider:google");
  auto domain = registry.Get("domain:example.com");
  const RateSpec provider_rate = Rate(10, absl::Seconds(1), 3);
  const RateSpec domain_rate = Rate(1, absl::Seconds(1), 1);
  ThrottlePath path;
  path.Add(provider, MessageRate(provider_rate));
  path.Add(domain, MessageRate(domain_rate));
  EXPECT_EQ(path.TryTakeAll(kStart), absl::ZeroDuration());
  EXPECT_EQ(path.blocked_by(), "");
  // The domain refuses the next ones: the provider's tokens stay.
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(path.TryTakeAll(kStart), absl::Seconds(1));
    EXPECT_EQ(path.blocked_by(), "domain:example.com");
  }
  EXPECT_EQ(provider->message_rate.Available(kStart, provider_rate), 2u);
  // Another domain under the same provider gets the two left.
  ThrottlePath other;
  other.Add(provider, MessageRate(provider_rate));
  other.Add(registry.Get("domain:example.org"), MessageRate(domain_rate));
  EXPECT_EQ(other.TryTakeAll(kStart), absl::ZeroDuration());
  ThrottlePath provider_only;
  provider_only.Add(provider, MessageRate(provider_rate));
  EXPECT_EQ(provider_only.TryTakeAll(kStart), absl::ZeroDuration());
  EXPECT_EQ(provider_only.TryTakeAll(kStart), absl::Milliseconds(100));
  EXPECT_EQ(provider_only.blocked_by(), "provider:google");
}

TEST(ThrottlePath, TheLongestWaitIsReturned) {
  ThrottleRegistry registry;
  ThrottlePath path;
  path.Add(registry.Get("a"), MessageRate(Rate(10, absl::Seconds(1), 1)));
  path.Add(registry.Get("b"), MessageRate(Rate(2, absl::Seconds(1), 1)));
  path.Add(registry.Get("c"), MessageRate(Rate(4, absl::Seconds(1), 1)));
  EXPECT_EQ(path.TryTakeAll(kStart), absl::ZeroDuration());
  EXPECT_EQ(path.CheckAll(kStart), absl::Milliseconds(500));
  EXPECT_EQ(path.TryTakeAll(kStart), absl::Milliseconds(500));
  EXPECT_EQ(path.blocked_by(), "b");
}

TEST(ThrottlePath, ScopesWithoutLimitsPassAndAnEmptyPathAlwaysGrants) {
  ThrottleRegistry registry;
  ThrottlePath path;
  for (int i = 0; i < 100; ++i) EXPECT_EQ(path.TryTakeAll(kStart), absl::ZeroDuration());
  path.Add(registry.Get("default"), ThrottlePath::Limits{});
  for (int i = 0; i < 100; ++i) EXPECT_EQ(path.TryTakeAll(kStart), absl::ZeroDuration());
  ConnectionLease lease;
  EXPECT_EQ(path.TryOpenConnection(kStart, &lease), absl::ZeroDuration());
  EXPECT_FALSE(lease.held());  // no limit, no slot held
}

TEST(ThrottlePath, ConnectionIsAllOrNothing) {
  ThrottleRegistry registry;
  auto provider = registry.Get("provider:google");
  auto site = registry.Get("site:mx.example.com");
  ThrottlePath::Limits provider_limits;
  provider_limits.connection_limit = 2;
  provider_limits.connection_rate = Rate(100, absl::Seconds(1), 100);
  ThrottlePath::Limits site_limits;
  site_limits.connection_limit = 1;
  ThrottlePath path;
  path.Add(provider, provider_limits);
  path.Add(site, site_limits);

  ConnectionLease first;
  EXPECT_EQ(path.TryOpenConnection(kStart, &first), absl::ZeroDuration());
  EXPECT_TRUE(first.held());
  EXPECT_EQ(provider->connections.open(), 1u);
  EXPECT_EQ(site->connections.open(), 1u);
  // The site is full: the provider's slot and rate token are not taken.
  for (int i = 0; i < 5; ++i) {
    ConnectionLease refused;
    EXPECT_EQ(path.TryOpenConnection(kStart, &refused), ThrottlePath::ConnectionLimitWait());
    EXPECT_FALSE(refused.held());
    EXPECT_EQ(path.blocked_by(), "site:mx.example.com");
  }
  EXPECT_EQ(provider->connections.open(), 1u);
  EXPECT_EQ(provider->connection_rate.Available(kStart, *provider_limits.connection_rate), 99u);
  first.Reset();
  EXPECT_EQ(provider->connections.open(), 0u);
  EXPECT_EQ(site->connections.open(), 0u);
}

TEST(ThrottlePath, ConnectionRateRefusalReleasesTheSlots) {
  ThrottleRegistry registry;
  auto site = registry.Get("site:s");
  auto source = registry.Get("source:ip2");
  ThrottlePath::Limits site_limits;
  site_limits.connection_limit = 10;
  ThrottlePath::Limits source_limits;
  source_limits.connection_rate = Rate(1, absl::Seconds(1), 1);
  ThrottlePath path;
  path.Add(site, site_limits);
  path.Add(source, source_limits);
  ConnectionLease a;
  ConnectionLease b;
  EXPECT_EQ(path.TryOpenConnection(kStart, &a), absl::ZeroDuration());
  EXPECT_EQ(path.TryOpenConnection(kStart, &b), absl::Seconds(1));
  EXPECT_FALSE(b.held());
  EXPECT_EQ(site->connections.open(), 1u);
  // A lease moved keeps its slot; the moved-from one releases nothing.
  ConnectionLease moved = std::move(a);
  a.Reset();  // NOLINT(bugprone-use-after-move): a moved-from lease must release nothing
  EXPECT_EQ(site->connections.open(), 1u);
  moved.Reset();
  EXPECT_EQ(site->connections.open(), 0u);
}

TEST(ThrottlePath, LeaseReleasesWhatItTookAfterThePathChanged) {
  ThrottleRegistry registry;
  auto site = registry.Get("site:s");
  ThrottlePath::Limits limits;
  limits.connection_limit = 1;
  ThrottlePath path;
  path.Add(site, limits);
  ConnectionLease lease;
  ASSERT_EQ(path.TryOpenConnection(kStart, &lease), absl::ZeroDuration());
  path.Clear();  // a policy change rebuilds the path without that limit
  path.Add(site, ThrottlePath::Limits{});
  lease.Reset();
  EXPECT_EQ(site->connections.open(), 0u);
}

// Two threads, each with its own path over one shared cell pair (as two shards), at real
// time: the grants never exceed burst + elapsed × rate of the tighter cell, and the looser
// cell is charged only for what was granted.
TEST(ThrottlePath, TwoThreadsNeverExceedBurstPlusElapsedTimesRate) {
  ThrottleRegistry registry;
  auto shared = registry.Get("provider:shared");
  auto loose = registry.Get("default");
  const RateSpec rate = Rate(1000, absl::Seconds(1), 50);
  // A big burst that barely refills during the run (one per 86.4 ms): every token burned by
  // a refusal would show.
  const RateSpec loose_rate = Rate(1'000'000, absl::Hours(24), 1'000'000);
  std::atomic<uint64_t> granted{0};
  const absl::Time start = absl::Now();
  const absl::Time end = start + absl::Milliseconds(300);
  auto shard = [&] {
    ThrottlePath path;
    path.Add(loose, MessageRate(loose_rate));
    path.Add(shared, MessageRate(rate));
    uint64_t mine = 0;
    for (absl::Time now = absl::Now(); now < end; now = absl::Now()) {
      if (path.TryTakeAll(now) == absl::ZeroDuration()) ++mine;
    }
    granted += mine;
  };
  std::thread a(shard);
  std::thread b(shard);
  a.join();
  b.join();
  const absl::Time finished = absl::Now();
  const double allowed = 50 + absl::ToDoubleSeconds(finished - start) * 1000 + 1;
  EXPECT_LE(static_cast<double>(granted.load()), allowed);
  EXPECT_GE(granted.load(), 50u);
  // The loose cell was charged exactly for the grants: refusals took nothing from it, or
  // gave back what they took. It refilled one per interval meanwhile.
  const uint64_t loose_left = loose->message_rate.Available(finished, loose_rate);
  const uint64_t refilled =
      static_cast<uint64_t>((finished - start) / loose_rate.emission_interval()) + 1;
  EXPECT_GE(loose_left + granted.load(), 1'000'000u);
  EXPECT_LE(loose_left + granted.load(), 1'000'000u + refilled);
}

}  // namespace
}  // namespace tern::queue
