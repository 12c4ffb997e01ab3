// The whole hand-over of an outbound SMTP connection between shards, as DESIGN.md's
// "Threading" describes it: shard A greets the server and EHLOs, finds nothing to send and
// parks the idle connection (Release() + Destination::Park() with the serialized
// capabilities); shard B, on its own thread and ring, takes it (TakeIdle() + Adopt()),
// resumes an SMTP client session with those capabilities, delivers a pipelined message and
// quits. The server is a scripted peer on real loopback TCP; it must see one conversation,
// greeting and EHLO once.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "net/destination_pool.h"
#include "net/smtp/client_session.h"
#include "net/transport.h"
#include "tests/net/loopback_test_util.h"

namespace tern::net {
namespace {

using testing::ConnectedPair;
using testing::Recv;
using testing::Shard;
using testing::TcpPair;
using testing::WriteAll;

// Reads until what was read ends with `end` (or the peer goes away); returns it.
std::string ReadUntil(int fd, absl::string_view end) {
  std::string out;
  char buf[4096];
  while (!absl::EndsWith(out, end)) {
    const ssize_t got = Recv(fd, buf, sizeof(buf));
    if (got <= 0) break;
    out.append(buf, static_cast<size_t>(got));
  }
  return out;
}

// Moves bytes between one Connection and one SmtpClientSession, as a delivery agent would
// (no timers here). The test's script runs in on_ready.
class SessionDriver : public ConnectionHandler, public smtp::ClientSessionHandler {
 public:
  SessionDriver(Connection* connection, const smtp::ClientConfig& config,
                smtp::ClientCounters* counters, const smtp::ServerCapabilities* resumed)
      : connection_(connection) {
    session_ = resumed == nullptr
                   ? std::make_unique<smtp::SmtpClientSession>(config, this, counters)
                   : std::make_unique<smtp::SmtpClientSession>(config, this, counters, *resumed);
    connection_->SetHandler(this);
  }

  smtp::SmtpClientSession& session() { return *session_; }
  // After a call into the session: sends what it queued, closes when it is done.
  void Pump() {
    if (released_ || connection_->sending()) return;
    if (session_->wants_close() && (session_->discard_output() || session_->output().empty())) {
      if (!closing_) connection_->Close();
      closing_ = true;
      return;
    }
    if (session_->output().empty()) return;
    // A copy: the session may append (and so move its own text) while the send is in flight.
    in_flight_ = std::string(session_->output().Front());
    connection_->Send(in_flight_);
  }
  void Release(absl::AnyInvocable<void(int fd)> done) {
    released_ = true;
    connection_->Release(std::move(done));
  }

  // ConnectionHandler.
  void OnReceive(absl::string_view bytes) override {
    session_->Consume(bytes);
    Pump();
  }
  void OnSendDone(absl::Status status) override {
    EXPECT_TRUE(status.ok()) << status;
    session_->output().Consume(in_flight_.size());
    Pump();
  }
  void OnPeerClosed(absl::Status status) override {
    session_->OnDisconnected();
    if (!closing_) connection_->Close();
    closing_ = true;
  }
  void OnClosed() override {
    if (on_closed) on_closed();
  }

  // ClientSessionHandler.
  void OnReady() override {
    ++ready;
    if (on_ready) on_ready();
  }
  void OnTransactionDone(const smtp::TransactionResult& result) override {
    for (const smtp::RecipientResult& r : result.recipients) {
      results.push_back(absl::StrCat(r.index, ":", r.code, ":", r.reply));
    }
  }
  void OnConnectionFailed(const absl::Status& status, const smtp::ServerReply* reply) override {
    failure = status;
  }

  int ready = 0;
  std::vector<std::string> results;
  absl::Status failure;
  std::function<void()> on_ready;
  std::function<void()> on_closed;

 private:
  Connection* connection_;
  std::unique_ptr<smtp::SmtpClientSession> session_;
  std::string in_flight_;
  bool released_ = false;
  bool closing_ = false;
};

TEST(ParkedSmtpConnection, GreetedOnOneShardDeliversOnAnother) {
  auto a = Shard::Create();
  if (!a.ok()) GTEST_SKIP() << a.status();
  TcpPair pair = ConnectedPair();
  DestinationKey key;
  key.host = "127.0.0.1";
  key.port = pair.remote_port;
  DestinationPools pools(DestinationLimits{});
  smtp::ClientConfig config;
  config.helo_name = "relay.test";

  // The server: one conversation, start to end, whichever shard speaks.
  std::string server_heard;
  std::thread server([&] {
    const int fd = pair.remote;
    WriteAll(fd, "220 mx.test ESMTP\r\n");
    server_heard += ReadUntil(fd, "\r\n");
    WriteAll(fd, "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 1000000\r\n250 8BITMIME\r\n");
    server_heard += ReadUntil(fd, "DATA\r\n");
    WriteAll(fd, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n354 go ahead\r\n");
    server_heard += ReadUntil(fd, "\r\n.\r\n");
    WriteAll(fd, "250 2.0.0 Ok: queued as Q1\r\n");
    server_heard += ReadUntil(fd, "QUIT\r\n");
    WriteAll(fd, "221 2.0.0 Bye\r\n");
    char byte;
    EXPECT_EQ(Recv(fd, &byte, 1), 0);  // the client closes after 221
    close(fd);
  });

  // Shard A: connects (here: adopts the connected socket), greets, has nothing to send.
  smtp::ClientCounters counters_a;
  {
    std::shared_ptr<Destination> destination = pools.Get(key);
    ASSERT_TRUE(destination->TryReserveConnection(/*shard=*/0));
    auto connection = a->transport->Adopt(pair.local);
    ASSERT_TRUE(connection.ok()) << connection.status();
    SessionDriver driver(*connection, config, &counters_a, nullptr);
    bool parked = false;
    driver.on_ready = [&] {
      const std::string capabilities = driver.session().capabilities().Serialize();
      driver.Release([&, destination, capabilities](int fd) {
        ASSERT_GE(fd, 0);
        parked = destination->Park({fd, 0, capabilities, absl::Now()}, /*shard=*/0);
      });
    };
    driver.on_closed = [&] { a->loop->Stop(); };
    (*connection)->StartReceiving();
    ASSERT_TRUE(a->Run());
    ASSERT_TRUE(parked);
    EXPECT_EQ(driver.ready, 1);
    EXPECT_EQ(destination->idle_connections(), 1u);
    EXPECT_EQ(destination->open_connections(), 1u);
  }

  // Shard B, on its own thread and ring: takes the parked connection and delivers.
  std::vector<std::string> results;
  int ready_b = 0;
  absl::Status failure_b;
  smtp::ClientCounters counters_b;
  std::thread shard_b([&] {
    auto b = Shard::Create();
    ASSERT_TRUE(b.ok()) << b.status();
    std::shared_ptr<Destination> destination = pools.Get(key);
    std::optional<ParkedConnection> parked = destination->TakeIdle(absl::Now(), /*shard=*/1);
    ASSERT_TRUE(parked.has_value());
    auto capabilities = smtp::ServerCapabilities::Parse(parked->capabilities);
    ASSERT_TRUE(capabilities.ok()) << capabilities.status();
    EXPECT_TRUE(capabilities->pipelining);
    auto connection = b->transport->Adopt(parked->fd);
    ASSERT_TRUE(connection.ok()) << connection.status();

    const std::string body = "Subject: parked\r\n\r\nhello from shard B\r\n";
    const std::vector<smtp::OutboundRecipient> recipients = {{"r0@dest.test", 0},
                                                             {"r1@dest.test", 1}};
    SessionDriver driver(*connection, config, &counters_b, &*capabilities);
    driver.on_ready = [&] {
      if (driver.ready == 1) {
        smtp::OutboundMessage message;
        message.sender = "s@src.test";
        message.recipients = recipients;
        message.body = body;
        EXPECT_TRUE(driver.session().StartTransaction(message).ok());
      } else {
        EXPECT_TRUE(driver.session().Quit().ok());
      }
    };
    driver.on_closed = [&] {
      destination->ConnectionClosed(/*shard=*/1);
      b->loop->Stop();
    };
    (*connection)->StartReceiving();
    ASSERT_TRUE(driver.session().Resume().ok());
    driver.Pump();
    EXPECT_TRUE(b->Run());
    results = driver.results;
    ready_b = driver.ready;
    failure_b = driver.failure;
  });
  shard_b.join();
  server.join();

  EXPECT_EQ(server_heard,
            "EHLO relay.test\r\n"
            "MAIL FROM:<s@src.test> SIZE=39\r\nRCPT TO:<r0@dest.test>\r\n"
            "RCPT TO:<r1@dest.test>\r\nDATA\r\n"
            "Subject: parked\r\n\r\nhello from shard B\r\n.\r\n"
            "QUIT\r\n");
  EXPECT_EQ(results, (std::vector<std::string>{"0:250:250 2.0.0 Ok: queued as Q1",
                                               "1:250:250 2.0.0 Ok: queued as Q1"}));
  EXPECT_EQ(ready_b, 2);
  EXPECT_TRUE(failure_b.ok()) << failure_b;
  EXPECT_EQ(counters_a.connections_ready.load(), 1u);
  EXPECT_EQ(counters_b.connections_ready.load(), 0u);
  EXPECT_EQ(counters_b.connections_resumed.load(), 1u);
  std::shared_ptr<Destination> destination = pools.Get(key);
  EXPECT_EQ(destination->open_connections(), 0u);
  EXPECT_EQ(destination->idle_connections(), 0u);
}

}  // namespace
}  // namespace tern::net
