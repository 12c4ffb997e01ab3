// Tests of net/dns/resolver.h against a real DNS server (dnsmasq on a loopback port), with
// the resolver's sockets driven by a real core::Loop in the test thread.
#include "net/dns/resolver.h"

#include <arpa/inet.h>

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/engine/test_engine.h"
#include "tests/net/dns/dnsmasq_server.h"

namespace tern::net::dns {
namespace {

constexpr absl::Duration kTestDeadline = absl::Seconds(10);

class ResolverTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dns_ = new testing::DnsmasqServer();
    closed_port_ = testing::DnsmasqServer::FreePort();
    start_status_ = dns_->Start({
        "--local-ttl=300",
        "--local=/test/",  // answer NXDOMAIN / NODATA for .test, never forward
        "--mx-host=example.test,mx1.example.test,10",
        "--mx-host=example.test,mx2.example.test,20",
        "--mx-host=example.test,mx3.example.test,20",
        "--host-record=mx1.example.test,127.0.0.2",
        "--host-record=mx2.example.test,127.0.0.3,::1",
        "--host-record=aonly.test,127.0.0.5",
        "--mx-host=nullmx.test,.,0",
        "--txt-record=txt.test,hello",
        "--host-record=short.test,127.0.0.9,1",  // TTL 1 s
        "--address=/many.test/127.0.0.7",
        absl::StrCat("--server=/servfail.test/127.0.0.1#", closed_port_),
    });
  }
  static void TearDownTestSuite() {
    delete dns_;
    dns_ = nullptr;
  }

  void SetUp() override {
    if (absl::IsUnavailable(start_status_)) GTEST_SKIP() << start_status_;
    ASSERT_TRUE(start_status_.ok()) << start_status_;
    auto loop = engine::CreateLoop(tern::engine::testing::TestIoEngine());
    if (!loop.ok()) GTEST_SKIP() << "io_uring unavailable: " << loop.status();
    loop_ = std::move(*loop);
    loop_->AddIterationHook([this] {
      if (on_iteration_) on_iteration_();
      if (until_ && until_()) loop_->Stop();
    });
  }

  void TearDown() override {
    resolver_.reset();
    loop_.reset();
  }

  ResolverOptions Options() {
    ResolverOptions options;
    options.servers = {dns_->server()};
    options.timeout_ms = 300;
    options.tries = 1;
    return options;
  }

  Resolver* MakeResolver(ResolverOptions options) {
    auto resolver = Resolver::Create(loop_.get(), options);
    EXPECT_TRUE(resolver.ok()) << resolver.status();
    resolver_ = std::move(*resolver);
    return resolver_.get();
  }
  Resolver* MakeResolver() { return MakeResolver(Options()); }

  // Runs the loop (once per test: a stopped Loop stays stopped) until `done` holds, with a
  // deadline. Returns whether `done` held.
  bool RunUntil(std::function<bool()> done) {
    class Deadline : public core::Timer {
     public:
      explicit Deadline(core::Loop* loop) : loop_(loop) {}
      void OnTimer() override { loop_->Stop(); }

     private:
      core::Loop* loop_;
    } deadline(loop_.get());
    loop_->timers().Arm(&deadline, absl::Now() + kTestDeadline);
    until_ = done;
    loop_->Run();
    until_ = nullptr;
    return done();
  }

  static std::vector<std::string> Hosts(const MxResult& mx) {
    std::vector<std::string> hosts;
    for (const MxHost& h : mx.hosts) hosts.push_back(h.host);
    return hosts;
  }

  static testing::DnsmasqServer* dns_;
  static absl::Status start_status_;
  static int closed_port_;
  std::unique_ptr<core::Loop> loop_;
  std::unique_ptr<Resolver> resolver_;
  std::function<void()> on_iteration_;
  std::function<bool()> until_;
};

testing::DnsmasqServer* ResolverTest::dns_ = nullptr;
absl::Status ResolverTest::start_status_;
int ResolverTest::closed_port_ = 0;

TEST_F(ResolverTest, MxHostsAreOrderedByPreference) {
  Resolver* resolver = MakeResolver();
  std::optional<absl::StatusOr<MxResult>> result;
  resolver->ResolveMx("example.test", [&](absl::StatusOr<MxResult> r) { result = r; });
  ASSERT_TRUE(RunUntil([&] { return result.has_value(); }));
  ASSERT_TRUE(result->ok()) << result->status();
  const MxResult& mx = **result;
  EXPECT_FALSE(mx.null_mx);
  EXPECT_FALSE(mx.implicit);
  ASSERT_EQ(mx.hosts.size(), 3u);
  EXPECT_EQ(mx.hosts[0].host, "mx1.example.test");
  EXPECT_EQ(mx.hosts[0].preference, 10);
  EXPECT_EQ(mx.hosts[1].preference, 20);
  EXPECT_EQ(mx.hosts[2].preference, 20);
  EXPECT_EQ((std::set<std::string>{mx.hosts[1].host, mx.hosts[2].host}),
            (std::set<std::string>{"mx2.example.test", "mx3.example.test"}));
  EXPECT_EQ(mx.ttl, absl::Seconds(300));
  EXPECT_EQ(resolver->counters().queries_sent.load(), 1u);
}

TEST_F(ResolverTest, EqualPreferencesComeInRandomOrder) {
  Resolver* resolver = MakeResolver();
  constexpr int kLookups = 40;
  std::set<std::string> seconds;  // which host came second
  int done = 0;
  resolver->ResolveMx("example.test", [&](absl::StatusOr<MxResult> first) {
    ASSERT_TRUE(first.ok());
    for (int i = 0; i < kLookups; ++i) {  // cache hits, shuffled on each delivery
      resolver->ResolveMx("example.test", [&](absl::StatusOr<MxResult> r) {
        ASSERT_TRUE(r.ok());
        EXPECT_EQ(r->hosts[0].host, "mx1.example.test");
        seconds.insert(r->hosts[1].host);
        ++done;
      });
    }
  });
  ASSERT_TRUE(RunUntil([&] { return done == kLookups; }));
  EXPECT_EQ(seconds.size(), 2u);
  EXPECT_EQ(resolver->counters().cache_hits.load(), static_cast<uint64_t>(kLookups));
}

TEST_F(ResolverTest, AddressesOfAHostAreIpv4AndIpv6) {
  Resolver* resolver = MakeResolver();
  std::optional<absl::StatusOr<AddressResult>> result;
  resolver->ResolveAddresses("MX2.example.test.",
                             [&](absl::StatusOr<AddressResult> r) { result = r; });
  ASSERT_TRUE(RunUntil([&] { return result.has_value(); }));
  ASSERT_TRUE(result->ok()) << result->status();
  EXPECT_EQ((*result)->ToString(), "127.0.0.3,::1");
  EXPECT_EQ((*result)->Sockaddrs(25).size(), 2u);
  EXPECT_EQ(resolver->counters().queries_sent.load(), 2u);
}

TEST_F(ResolverTest, DomainWithoutMxHasItselfAsImplicitMx) {
  Resolver* resolver = MakeResolver();
  std::optional<absl::StatusOr<MxResult>> result;
  resolver->ResolveMx("aonly.test", [&](absl::StatusOr<MxResult> r) { result = r; });
  ASSERT_TRUE(RunUntil([&] { return result.has_value(); }));
  ASSERT_TRUE(result->ok()) << result->status();
  EXPECT_TRUE((*result)->implicit);
  EXPECT_FALSE((*result)->null_mx);
  ASSERT_EQ((*result)->hosts.size(), 1u);
  EXPECT_EQ((*result)->hosts[0].host, "aonly.test");
  EXPECT_EQ((*result)->hosts[0].preference, 0);
}

TEST_F(ResolverTest, NullMxIsReported) {
  Resolver* resolver = MakeResolver();
  std::optional<absl::StatusOr<MxResult>> result;
  resolver->ResolveMx("nullmx.test", [&](absl::StatusOr<MxResult> r) { result = r; });
  ASSERT_TRUE(RunUntil([&] { return result.has_value(); }));
  ASSERT_TRUE(result->ok()) << result->status();
  EXPECT_TRUE((*result)->null_mx);
  EXPECT_TRUE((*result)->hosts.empty());
}

TEST_F(ResolverTest, NxdomainIsNotFound) {
  Resolver* resolver = MakeResolver();
  std::optional<absl::StatusOr<MxResult>> mx;
  std::optional<absl::StatusOr<AddressResult>> addresses;
  resolver->ResolveMx("nosuch.test", [&](absl::StatusOr<MxResult> r) { mx = r; });
  resolver->ResolveAddresses("nosuch2.test",
                             [&](absl::StatusOr<AddressResult> r) { addresses = r; });
  ASSERT_TRUE(RunUntil([&] { return mx.has_value() && addresses.has_value(); }));
  EXPECT_TRUE(absl::IsNotFound(mx->status())) << mx->status();
  EXPECT_NE(mx->status().message().find("nosuch.test"), std::string::npos);
  EXPECT_NE(mx->status().message().find("NXDOMAIN"), std::string::npos);
  EXPECT_TRUE(absl::IsNotFound(addresses->status())) << addresses->status();
  EXPECT_EQ(resolver->counters().nxdomain.load(), 2u);
}

TEST_F(ResolverTest, NegativeAnswersAreCachedForTheNegativeTtl) {
  Resolver* resolver = MakeResolver();
  std::vector<absl::Status> statuses;
  resolver->ResolveMx("gone.test", [&](absl::StatusOr<MxResult> r) {
    statuses.push_back(r.status());
    resolver->ResolveMx("Gone.Test",
                        [&](absl::StatusOr<MxResult> r) { statuses.push_back(r.status()); });
  });
  ASSERT_TRUE(RunUntil([&] { return statuses.size() == 2; }));
  EXPECT_TRUE(absl::IsNotFound(statuses[1])) << statuses[1];
  EXPECT_EQ(statuses[0], statuses[1]);
  EXPECT_EQ(resolver->counters().queries_sent.load(), 1u);
  EXPECT_EQ(resolver->counters().cache_hits.load(), 1u);
}

TEST_F(ResolverTest, FailuresAreNotCached) {
  Resolver* resolver = MakeResolver();
  std::vector<absl::Status> statuses;
  resolver->ResolveMx("servfail.test", [&](absl::StatusOr<MxResult> r) {
    statuses.push_back(r.status());
    resolver->ResolveMx("servfail.test",
                        [&](absl::StatusOr<MxResult> r) { statuses.push_back(r.status()); });
  });
  ASSERT_TRUE(RunUntil([&] { return statuses.size() == 2; }));
  EXPECT_TRUE(absl::IsUnavailable(statuses[1])) << statuses[1];
  EXPECT_EQ(resolver->counters().queries_sent.load(), 2u);
  EXPECT_EQ(resolver->counters().cache_hits.load(), 0u);
}

TEST_F(ResolverTest, BadServerListIsRejected) {
  ResolverOptions options = Options();
  options.servers = {"not-an-address:53"};
  auto resolver = Resolver::Create(loop_.get(), options);
  EXPECT_TRUE(absl::IsInvalidArgument(resolver.status())) << resolver.status();
}

TEST_F(ResolverTest, NoMxAndNoAddressIsNotFound) {
  Resolver* resolver = MakeResolver();
  std::optional<absl::StatusOr<MxResult>> result;
  resolver->ResolveMx("txt.test", [&](absl::StatusOr<MxResult> r) { result = r; });
  ASSERT_TRUE(RunUntil([&] { return result.has_value(); }));
  EXPECT_TRUE(absl::IsNotFound(result->status())) << result->status();
  EXPECT_NE(result->status().message().find("txt.test"), std::string::npos);
}

TEST_F(ResolverTest, ServerFailureIsUnavailable) {
  Resolver* resolver = MakeResolver();  // 300 ms, one try
  std::optional<absl::StatusOr<MxResult>> failed;
  std::optional<absl::StatusOr<MxResult>> refused;
  resolver->ResolveMx("servfail.test", [&](absl::StatusOr<MxResult> r) { failed = r; });
  // Outside the local zone and with no upstream, dnsmasq answers REFUSED.
  resolver->ResolveMx("example.invalid", [&](absl::StatusOr<MxResult> r) { refused = r; });
  const absl::Time start = absl::Now();
  ASSERT_TRUE(RunUntil([&] { return failed.has_value() && refused.has_value(); }));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_TRUE(absl::IsUnavailable(failed->status())) << failed->status();
  EXPECT_NE(failed->status().message().find("servfail.test"), std::string::npos);
  EXPECT_TRUE(absl::IsUnavailable(refused->status())) << refused->status();
  EXPECT_EQ(resolver->counters().unavailable.load(), 2u);
}

TEST_F(ResolverTest, BadNameIsInvalidArgument) {
  Resolver* resolver = MakeResolver();
  std::optional<absl::StatusOr<MxResult>> result;
  resolver->ResolveMx("bad name..test", [&](absl::StatusOr<MxResult> r) { result = r; });
  EXPECT_FALSE(result.has_value());
  ASSERT_TRUE(RunUntil([&] { return result.has_value(); }));
  EXPECT_TRUE(absl::IsInvalidArgument(result->status())) << result->status();
  EXPECT_EQ(resolver->counters().queries_sent.load(), 0u);
}

TEST_F(ResolverTest, CacheHitSendsNoQueryAndExpiresAfterTheTtl) {
  Resolver* resolver = MakeResolver();
  int step = 0;
  absl::Time expire_at = absl::InfiniteFuture();
  std::function<void()> lookup = [&] {
    resolver->ResolveAddresses("SHORT.test", [&](absl::StatusOr<AddressResult> r) {
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_EQ(r->ToString(), "127.0.0.9");
      ++step;
      if (step == 1) {
        EXPECT_EQ(r->ttl, absl::Seconds(1));
        lookup();  // at once: from the cache
      } else if (step == 2) {
        expire_at = absl::Now() + absl::Milliseconds(1200);
      }
    });
  };
  on_iteration_ = [&] {
    if (step == 2 && absl::Now() >= expire_at) {
      expire_at = absl::InfiniteFuture();
      EXPECT_EQ(resolver->counters().queries_sent.load(), 2u);
      EXPECT_EQ(resolver->counters().cache_hits.load(), 1u);
      lookup();  // past the TTL: asks again
    }
  };
  lookup();
  class Tick : public core::Timer {  // keeps the loop turning while it waits
   public:
    explicit Tick(core::Loop* loop) : loop_(loop) {}
    void OnTimer() override { loop_->timers().Arm(this, loop_->now() + absl::Milliseconds(50)); }

   private:
    core::Loop* loop_;
  } tick(loop_.get());
  loop_->timers().Arm(&tick, loop_->now());
  ASSERT_TRUE(RunUntil([&] { return step == 3; }));
  EXPECT_EQ(resolver->counters().queries_sent.load(), 4u);
  EXPECT_EQ(resolver->counters().cache_hits.load(), 1u);
}

TEST_F(ResolverTest, ConcurrentLookupsShareOneQuery) {
  Resolver* resolver = MakeResolver();
  std::vector<absl::StatusOr<MxResult>> results;
  for (int i = 0; i < 2; ++i) {
    resolver->ResolveMx(i == 0 ? "example.test" : "EXAMPLE.test.",
                        [&](absl::StatusOr<MxResult> r) { results.push_back(r); });
  }
  ASSERT_TRUE(RunUntil([&] { return results.size() == 2; }));
  EXPECT_EQ(resolver->counters().queries_sent.load(), 1u);
  EXPECT_EQ(resolver->counters().coalesced.load(), 1u);
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->hosts.size(), 3u);
  }
}

TEST_F(ResolverTest, CallbacksNeverRunInsideTheCall) {
  Resolver* resolver = MakeResolver();
  bool inside = false;
  int done = 0;
  auto check = [&](const absl::Status& s) {
    EXPECT_FALSE(inside);
    ++done;
  };
  resolver->ResolveMx("example.test", [&](absl::StatusOr<MxResult> r) {
    check(r.status());
    inside = true;  // a cache hit, an invalid name and a coalesced lookup
    resolver->ResolveMx("example.test", [&](absl::StatusOr<MxResult> r) { check(r.status()); });
    resolver->ResolveMx("", [&](absl::StatusOr<MxResult> r) { check(r.status()); });
    resolver->ResolveAddresses("mx1.example.test",
                               [&](absl::StatusOr<AddressResult> r) { check(r.status()); });
    resolver->ResolveAddresses("mx1.example.test",
                               [&](absl::StatusOr<AddressResult> r) { check(r.status()); });
    inside = false;
  });
  ASSERT_TRUE(RunUntil([&] { return done == 5; }));
}

TEST_F(ResolverTest, ManyConcurrentLookupsComplete) {
  // 400 queries, more than queries_in_flight_max: the rest wait for a slot, so a burst of
  // answers never overflows the socket buffer (one try, no retransmission needed).
  Resolver* resolver = MakeResolver();
  constexpr int kLookups = 200;
  int ok = 0, failed = 0;
  for (int i = 0; i < kLookups; ++i) {
    resolver->ResolveAddresses(absl::StrCat("h", i, ".many.test"),
                               [&](absl::StatusOr<AddressResult> r) {
                                 if (r.ok() && r->ToString() == "127.0.0.7") {
                                   ++ok;
                                 } else {
                                   ++failed;
                                   ADD_FAILURE() << r.status();
                                 }
                               });
  }
  ASSERT_TRUE(RunUntil([&] { return ok + failed == kLookups && resolver->idle(); }));
  EXPECT_EQ(ok, kLookups);
  EXPECT_EQ(resolver->counters().queries_sent.load(), 2u * kLookups);
}

TEST_F(ResolverTest, ShutdownCancelsOutstandingLookupsAndDrains) {
  Resolver* resolver = MakeResolver();
  std::vector<absl::Status> statuses;
  for (const char* name : {"servfail.test", "example.test", "aonly.test"}) {
    resolver->ResolveMx(name, [&](absl::StatusOr<MxResult> r) { statuses.push_back(r.status()); });
  }
  // The queries are on the wire and their sockets' polls prepared, no answer read yet.
  resolver->Shutdown();
  resolver->ResolveMx("late.test",
                      [&](absl::StatusOr<MxResult> r) { statuses.push_back(r.status()); });
  EXPECT_TRUE(statuses.empty());  // delivered on the loop, not inside Shutdown()
  EXPECT_FALSE(resolver->idle());
  ASSERT_TRUE(RunUntil([&] { return statuses.size() == 4 && resolver->idle(); }));
  for (const absl::Status& s : statuses) EXPECT_TRUE(absl::IsCancelled(s)) << s;
}

TEST_F(ResolverTest, DestroyingWithQueriesInFlightIsClean) {
  Resolver* resolver = MakeResolver();
  int called = 0;
  for (int i = 0; i < 20; ++i) {
    resolver->ResolveMx(i % 2 ? "servfail.test" : absl::StrCat("d", i, ".many.test"),
                        [&](absl::StatusOr<MxResult>) { ++called; });
  }
  int iterations = 0;
  absl::Time drain_until = absl::InfiniteFuture();
  on_iteration_ = [&] {
    if (++iterations == 1) {
      resolver_.reset();  // queries in flight, polls armed
      drain_until = absl::Now() + absl::Milliseconds(200);
    }
  };
  class Tick : public core::Timer {
   public:
    explicit Tick(core::Loop* loop) : loop_(loop) {}
    void OnTimer() override { loop_->timers().Arm(this, loop_->now() + absl::Milliseconds(20)); }

   private:
    core::Loop* loop_;
  } tick(loop_.get());
  loop_->timers().Arm(&tick, loop_->now());
  // Keep the loop turning so the removed polls come back and free their watchers.
  RunUntil([&] { return absl::Now() >= drain_until; });
  EXPECT_EQ(resolver_, nullptr);
  EXPECT_EQ(called, 0);  // undelivered callbacks are dropped
}

}  // namespace
}  // namespace tern::net::dns
