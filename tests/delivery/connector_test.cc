// Connector with a real io_uring transport on a real loop and real loopback peers: a route
// to a listening SMTP server gets one connection, adopted by the owner, that reaches EHLO;
// a route to a closed port ends, through the owner's Continue, in OnAttemptFinished with
// the connect error; an MX lane without a resolver finishes at once. The owner here plays
// the delivery agent's part (ConnectorOwner and OutboundConnectionOwner) and counts calls.
#include "delivery/connector.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "delivery/delivery_config.h"
#include "delivery/delivery_counters.h"
#include "delivery/lane.h"
#include "gtest/gtest.h"
#include "net/destination_pool.h"
#include "net/dns/resolver.h"
#include "net/listen_socket.h"
#include "net/smtp/client_counters.h"
#include "tests/net/dns/dnsmasq_server.h"
#include "tests/net/loopback_test_util.h"

namespace tern::delivery {
namespace {

using net::testing::Recv;
using net::testing::Shard;
using net::testing::WriteAll;

// What the delivery agent does with the connector's connections, reduced to counting: owns
// each adopted connection with its attempt, passes a failed one's attempt on to the next
// address, quits a ready one. The fixture stops the loop when `done` says so.
class TestOwner final : public ConnectorOwner, public OutboundConnectionOwner {
 public:
  void set_connector(Connector* connector) { connector_ = connector; }

  // ConnectorOwner.
  void AdoptConnection(std::unique_ptr<OutboundConnection> connection,
                       std::unique_ptr<ConnectAttempt> attempt, bool reused) override {
    ++adopted;
    if (reused) ++adopted_reused;
    OutboundConnection* raw = connection.get();
    owned_[raw] = Owned{std::move(connection), std::move(attempt)};
  }
  std::unique_ptr<ConnectAttempt> ReclaimAttempt(OutboundConnection* connection) override {
    ++reclaimed;
    std::unique_ptr<ConnectAttempt> attempt = std::move(owned_[connection].attempt);
    owned_.erase(connection);
    return attempt;
  }
  void OnAttemptFinished(std::unique_ptr<ConnectAttempt> attempt) override {
    --attempt->lane->attempts;
    finished.push_back(std::move(attempt));
  }

  // OutboundConnectionOwner.
  void OnConnectionReady(OutboundConnection* connection) override {
    ++ready;
    Owned& owned = owned_[connection];
    if (owned.attempt != nullptr) {  // made it through the greeting and EHLO
      --owned.attempt->lane->attempts;
      owned.attempt.reset();
    }
    connection->Quit();
  }
  void OnTransactionDone(OutboundConnection*, const net::smtp::TransactionResult&) override {
    ADD_FAILURE() << "no transaction was begun";
  }
  void OnConnectionGone(OutboundConnection* connection) override {
    ++gone;
    std::unique_ptr<ConnectAttempt> attempt = std::move(owned_[connection].attempt);
    if (attempt != nullptr) {
      // Never got ready: as the agent does, the attempt goes on with the next address.
      const absl::Status& failure = connection->failure();
      attempt->last_error = absl::Status(
          failure.code(), absl::StrCat(connection->host_name, "[", connection->address,
                                       "]: ", failure.ok() ? "closed" : failure.message()));
      owned_.erase(connection);
      connector_->Continue(std::move(attempt));
    } else {
      owned_.erase(connection);
    }
  }

  size_t owned() const { return owned_.size(); }

  int adopted = 0;
  int adopted_reused = 0;
  int reclaimed = 0;
  int ready = 0;
  int gone = 0;
  std::vector<std::unique_ptr<ConnectAttempt>> finished;
  std::function<bool()> done;

 private:
  struct Owned {
    std::unique_ptr<OutboundConnection> connection;
    std::unique_ptr<ConnectAttempt> attempt;
  };
  Connector* connector_ = nullptr;
  absl::flat_hash_map<OutboundConnection*, Owned> owned_;
};

// A listening loopback socket and its port; closed on destruction.
struct Listener {
  int fd = -1;
  uint16_t port = 0;
  Listener() {
    auto address = net::ParseSocketAddress("127.0.0.1:0");
    CHECK(address.ok());
    auto listener = net::OpenListener(*address, 4);
    CHECK(listener.ok());
    fd = *listener;
    port = *net::BoundPort(fd);
  }
  ~Listener() { Close(); }
  void Close() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

// Reads until what was read ends with `end` (or the peer goes away, or 10 s pass).
std::string ReadUntil(int fd, absl::string_view end) {
  std::string out;
  char buf[1024];
  while (!absl::EndsWith(out, end)) {
    const ssize_t got = Recv(fd, buf, sizeof(buf));
    if (got <= 0) break;
    out.append(buf, static_cast<size_t>(got));
  }
  return out;
}

// One SMTP conversation on `listen_fd`, served by a thread: greeting, EHLO, QUIT. What the
// client said lands in `heard` (read after Join()).
class TinySmtpServer {
 public:
  explicit TinySmtpServer(int listen_fd) {
    thread_ = std::thread([this, listen_fd] {
      pollfd p{.fd = listen_fd, .events = POLLIN, .revents = 0};
      if (::poll(&p, 1, 10'000) != 1) return;  // nobody came
      const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;
      timeval timeout{10, 0};
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
      WriteAll(fd, "220 mx.test ESMTP\r\n");
      heard_ += ReadUntil(fd, "\r\n");
      WriteAll(fd, "250-mx.test\r\n250 PIPELINING\r\n");
      heard_ += ReadUntil(fd, "\r\n");
      WriteAll(fd, "221 2.0.0 bye\r\n");
      ::close(fd);
    });
  }
  ~TinySmtpServer() { Join(); }
  void Join() {
    if (thread_.joinable()) thread_.join();
  }
  const std::string& heard() const { return heard_; }

 private:
  std::thread thread_;
  std::string heard_;
};

class ConnectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto shard = Shard::Create();
    if (!shard.ok()) GTEST_SKIP() << shard.status();
    shard_ = *std::move(shard);
    config_.client.helo_name = "relay.test";
    config_.connect_timeout = absl::Seconds(5);
    owner_ = std::make_unique<TestOwner>();
    shard_.loop->AddIterationHook([this] {
      if (owner_ != nullptr && owner_->done && owner_->done()) shard_.loop->Stop();
    });
    MakeConnector(nullptr);
  }
  void TearDown() override {
    connector_.reset();
    owner_.reset();
    resolver_.reset();
  }
  // (Re)makes the connector under test, with `resolver` (may be null).
  void MakeConnector(net::dns::Resolver* resolver) {
    connector_ = std::make_unique<Connector>(ConnectorDeps{.loop = shard_.loop.get(),
                                                           .transport = shard_.transport.get(),
                                                           .resolver = resolver,
                                                           .pools = &pools_,
                                                           .config = &config_,
                                                           .counters = &counters_,
                                                           .client_counters = &client_counters_,
                                                           .connection_owner = owner_.get(),
                                                           .owner = owner_.get()});
    owner_->set_connector(connector_.get());
  }
  // A lane as the agent makes it: its connections use the configured client settings.
  Lane RouteLane(uint16_t port) const {
    Lane lane;
    lane.nexthop = Nexthop{.host = "127.0.0.1", .port = port, .mx_lookup = false};
    lane.key = LaneKey(lane.nexthop);
    lane.tls = net::smtp::StartTlsPolicy::kNever;
    lane.client = &config_.client;
    return lane;
  }

  DeliveryConfig config_;
  DeliveryCounters counters_;
  net::smtp::ClientCounters client_counters_;
  net::DestinationPools pools_{net::DestinationLimits{}};
  Shard shard_;
  std::unique_ptr<net::dns::Resolver> resolver_;
  std::unique_ptr<TestOwner> owner_;
  std::unique_ptr<Connector> connector_;
};

TEST_F(ConnectorTest, RouteToAListeningServerGetsOneConnection) {
  Listener listener;
  TinySmtpServer server(listener.fd);
  Lane lane = RouteLane(listener.port);
  owner_->done = [&] { return owner_->gone == 1; };

  connector_->Begin(&lane);
  // A literal address: no DNS, the connection is adopted from inside Begin().
  EXPECT_EQ(owner_->adopted, 1);
  EXPECT_EQ(owner_->adopted_reused, 0);
  EXPECT_EQ(lane.attempts, 1u);
  EXPECT_EQ(connector_->attempts_begun(), 1u);
  EXPECT_EQ(connector_->addresses_tried(), 1u);
  EXPECT_EQ(connector_->in_dns(), 0u);
  net::DestinationKey key{
      .host = "127.0.0.1", .port = listener.port, .tls = net::smtp::StartTlsPolicy::kNever};
  EXPECT_EQ(pools_.Get(key)->open_connections(), 1u) << "a slot is reserved for it";

  ASSERT_TRUE(shard_.Run()) << "the connection never ended";
  server.Join();
  EXPECT_EQ(owner_->ready, 1) << "greeting and EHLO went through";
  EXPECT_EQ(owner_->gone, 1);
  EXPECT_TRUE(owner_->finished.empty()) << "a connection that got ready ends no attempt";
  EXPECT_EQ(lane.attempts, 0u);
  EXPECT_EQ(owner_->owned(), 0u);
  EXPECT_EQ(connector_->attempts_begun(), 1u);
  EXPECT_EQ(connector_->addresses_tried(), 1u);
  EXPECT_TRUE(absl::StartsWith(server.heard(), "EHLO relay.test\r\n")) << server.heard();
  EXPECT_TRUE(absl::EndsWith(server.heard(), "QUIT\r\n")) << server.heard();
  // Its slot under the connection limit was given back.
  EXPECT_EQ(pools_.Get(key)->open_connections(), 0u);
}

TEST_F(ConnectorTest, RouteToAClosedPortFinishesWithTheConnectError) {
  uint16_t port;
  {
    Listener closed;
    port = closed.port;
  }  // nothing listens there any more
  Lane lane = RouteLane(port);
  owner_->done = [&] { return !owner_->finished.empty(); };

  connector_->Begin(&lane);
  EXPECT_EQ(owner_->adopted, 1);
  EXPECT_EQ(lane.attempts, 1u);
  ASSERT_TRUE(shard_.Run()) << "the attempt never finished";

  ASSERT_EQ(owner_->finished.size(), 1u);
  const ConnectAttempt& attempt = *owner_->finished[0];
  EXPECT_EQ(attempt.lane, &lane);
  EXPECT_TRUE(absl::IsUnavailable(attempt.last_error)) << attempt.last_error;
  EXPECT_TRUE(absl::StrContains(attempt.last_error.message(),
                                absl::StrCat("127.0.0.1[127.0.0.1:", port, "]")))
      << attempt.last_error;
  EXPECT_FALSE(attempt.permanent);
  EXPECT_EQ(attempt.code, 451);
  EXPECT_EQ(attempt.enhanced, "4.4.1");
  EXPECT_EQ(attempt.hosts, (std::vector<std::string>{"127.0.0.1"}));
  EXPECT_EQ(owner_->ready, 0);
  EXPECT_EQ(owner_->gone, 1);
  EXPECT_EQ(lane.attempts, 0u);
  EXPECT_EQ(owner_->owned(), 0u);
  EXPECT_EQ(connector_->attempts_begun(), 1u);
  EXPECT_EQ(connector_->addresses_tried(), 1u);
}

TEST_F(ConnectorTest, MxLaneWithoutAResolverFinishesAtOnce) {
  Lane lane;
  lane.nexthop = Nexthop{.host = "example.test", .port = 25, .mx_lookup = true};
  lane.key = LaneKey(lane.nexthop);

  connector_->Begin(&lane);
  ASSERT_EQ(owner_->finished.size(), 1u);
  const ConnectAttempt& attempt = *owner_->finished[0];
  EXPECT_TRUE(absl::IsFailedPrecondition(attempt.last_error)) << attempt.last_error;
  EXPECT_FALSE(attempt.permanent);
  EXPECT_TRUE(attempt.hosts.empty());
  EXPECT_EQ(owner_->adopted, 0);
  EXPECT_EQ(lane.attempts, 0u);
  EXPECT_EQ(connector_->attempts_begun(), 1u);
  EXPECT_EQ(connector_->addresses_tried(), 0u);
  EXPECT_EQ(connector_->in_dns(), 0u);
}

TEST_F(ConnectorTest, StoppedConnectorTriesNoAddress) {
  Listener listener;
  Lane lane = RouteLane(listener.port);
  connector_->Stop();
  connector_->Begin(&lane);
  ASSERT_EQ(owner_->finished.size(), 1u);
  EXPECT_TRUE(owner_->finished[0]->last_error.ok());
  EXPECT_EQ(owner_->adopted, 0);
  EXPECT_EQ(lane.attempts, 0u);
  EXPECT_EQ(connector_->attempts_begun(), 1u);
  EXPECT_EQ(connector_->addresses_tried(), 0u);
}

TEST_F(ConnectorTest, AddressAtItsConnectionLimitIsSkipped) {
  Listener listener;
  Lane lane = RouteLane(listener.port);
  // Other shards hold every slot to this address.
  std::shared_ptr<net::Destination> destination = pools_.Get(
      {.host = "127.0.0.1", .port = listener.port, .tls = net::smtp::StartTlsPolicy::kNever});
  uint32_t held = 0;
  while (destination->TryReserveConnection(/*shard=*/5)) ++held;
  ASSERT_EQ(held, net::DestinationLimits{}.max_connections);

  connector_->Begin(&lane);
  ASSERT_EQ(owner_->finished.size(), 1u);
  const ConnectAttempt& attempt = *owner_->finished[0];
  EXPECT_TRUE(attempt.at_limit);
  EXPECT_TRUE(attempt.last_error.ok()) << "nothing failed: jobs wait for a slot";
  EXPECT_EQ(owner_->adopted, 0);
  EXPECT_EQ(lane.attempts, 0u);
  EXPECT_EQ(connector_->addresses_tried(), 1u);
  EXPECT_EQ(destination->open_connections(), held);
  for (uint32_t i = 0; i < held; ++i) destination->ConnectionClosed(/*shard=*/5);
}

// The MX walk, with a real resolver asking a real DNS server (dnsmasq): the first MX host's
// address refuses, so the owner's Continue moves on to the second MX host, which answers.
TEST_F(ConnectorTest, MxWalkMovesOnToTheNextHostWhenOneRefuses) {
  Listener listener;  // on 127.0.0.1 only: 127.0.0.2 on the same port refuses
  net::dns::testing::DnsmasqServer dns;
  absl::Status started =
      dns.Start({"--local=/test/", "--mx-host=walk.test,mx1.walk.test,10",
                 "--mx-host=walk.test,mx2.walk.test,20", "--host-record=mx1.walk.test,127.0.0.2",
                 "--host-record=mx2.walk.test,127.0.0.1"});
  if (absl::IsUnavailable(started)) GTEST_SKIP() << started;
  ASSERT_TRUE(started.ok()) << started;
  auto resolver = net::dns::Resolver::Create(
      shard_.loop.get(), net::dns::ResolverOptions{.servers = {dns.server()}, .timeout_ms = 2000});
  ASSERT_TRUE(resolver.ok()) << resolver.status();
  resolver_ = *std::move(resolver);
  MakeConnector(resolver_.get());
  TinySmtpServer server(listener.fd);
  Lane lane;
  lane.nexthop = Nexthop{.host = "walk.test", .port = listener.port, .mx_lookup = true};
  lane.key = LaneKey(lane.nexthop);
  lane.tls = net::smtp::StartTlsPolicy::kNever;
  lane.client = &config_.client;
  // Until the resolver is idle too: its sockets' polls come back before it is destroyed.
  owner_->done = [&] { return owner_->ready == 1 && owner_->gone == 2 && resolver_->idle(); };

  connector_->Begin(&lane);
  EXPECT_EQ(connector_->in_dns(), 1u) << "the MX lookup is under way";
  EXPECT_EQ(owner_->adopted, 0);
  ASSERT_TRUE(shard_.Run()) << "the walk never reached the second MX";
  server.Join();

  EXPECT_EQ(owner_->adopted, 2) << "one connection per address tried";
  EXPECT_EQ(owner_->ready, 1);
  EXPECT_EQ(owner_->gone, 2);
  EXPECT_TRUE(owner_->finished.empty());
  EXPECT_EQ(lane.attempts, 0u);
  EXPECT_EQ(connector_->attempts_begun(), 1u);
  EXPECT_EQ(connector_->addresses_tried(), 2u);
  EXPECT_EQ(connector_->in_dns(), 0u);
  EXPECT_TRUE(absl::StartsWith(server.heard(), "EHLO relay.test\r\n")) << server.heard();
}

}  // namespace
}  // namespace tern::delivery
