// TlsConnection on a real ring: a server TlsConnection over a loopback socket against a
// blocking OpenSSL client on another thread, and a client TlsConnection against a server
// TlsConnection on the same loop.
#include "net/tls/tls_connection.h"

#include <openssl/ssl.h>

#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "net/tls/tls_context.h"
#include "tests/net/loopback_test_util.h"
#include "tests/net/tls/test_certificate.h"

namespace tern::net::tls {
namespace {

using net::testing::ConnectedPair;
using net::testing::Shard;
using net::testing::TcpPair;
using testing::TestCertificate;

// Echoes what it receives (optionally greets first), closes when the peer closes, and stops
// the loop once closed.
class EchoHandler : public ConnectionHandler {
 public:
  EchoHandler(core::Loop* loop, Connection* connection) : loop_(loop), connection_(connection) {}
  void Greet(absl::string_view greeting) {
    out_ = std::string(greeting);
    connection_->Send(out_);
  }
  // A gathered greeting: the pieces must stay valid until sent, the views need not.
  void GreetInPieces(const std::vector<std::string>& pieces) {
    std::vector<absl::string_view> views(pieces.begin(), pieces.end());
    connection_->SendPieces(views);
  }
  void OnReceive(absl::string_view bytes) override {
    received.append(bytes.data(), bytes.size());
    pending_.append(bytes.data(), bytes.size());
    MaybeSend();
  }
  void OnSendDone(absl::Status status) override {
    EXPECT_TRUE(status.ok()) << status;
    MaybeSend();
  }
  void OnPeerClosed(absl::Status status) override {
    peer_closed = status;
    peer_closed_seen = true;
    connection_->Close();
  }
  void OnClosed() override {
    closed = true;
    if (on_closed) {
      on_closed();
    } else {
      loop_->Stop();
    }
  }

  std::function<void()> on_closed;  // default: stop the loop
  std::string received;
  absl::Status peer_closed;
  bool peer_closed_seen = false;
  bool closed = false;

 private:
  void MaybeSend() {
    if (connection_->sending() || pending_.empty()) return;
    out_.swap(pending_);
    pending_.clear();
    connection_->Send(out_);
  }
  core::Loop* loop_;
  Connection* connection_;
  std::string pending_;
  std::string out_;
};

class TlsConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto shard = Shard::Create();
    if (!shard.ok()) GTEST_SKIP() << "io_uring unavailable: " << shard.status();
    shard_ = std::make_unique<Shard>(*std::move(shard));
    auto server = TlsContext::CreateServer({cert_.cert_file(), cert_.key_file()});
    ASSERT_TRUE(server.ok()) << server.status();
    server_context_ = *server;
  }

  // Wraps the local end of `pair` as a TLS server; `handshake` receives the result.
  TlsConnection* WrapServer(int fd, absl::Status* handshake, std::string* described) {
    auto connection = shard_->transport->Adopt(fd);
    EXPECT_TRUE(connection.ok()) << connection.status();
    TlsWrapOptions options;
    options.on_handshake = [handshake, described](const TlsEngine& engine,
                                                  const absl::Status& result) {
      *handshake = result;
      *described = engine.Describe();
    };
    return TlsConnection::Wrap(*connection, *TlsEngine::Create(server_context_),
                               std::move(options));
  }

  TestCertificate cert_ = TestCertificate::Make("mx.test");
  std::unique_ptr<Shard> shard_;
  std::shared_ptr<const TlsContext> server_context_;
};

// A blocking OpenSSL client: handshake, read the greeting, send each message and read its
// echo, then close_notify.
std::string RunBlockingClient(int fd, const std::vector<std::string>& messages,
                              size_t greeting_bytes) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  std::string transcript;
  if (SSL_connect(ssl) == 1) {
    auto read_exactly = [&](size_t n) {
      std::string got;
      char buffer[16384];
      while (got.size() < n) {
        const int r =
            SSL_read(ssl, buffer, static_cast<int>(std::min(sizeof(buffer), n - got.size())));
        if (r <= 0) break;
        got.append(buffer, static_cast<size_t>(r));
      }
      return got;
    };
    transcript += read_exactly(greeting_bytes);
    for (const std::string& message : messages) {
      SSL_write(ssl, message.data(), static_cast<int>(message.size()));
      transcript += read_exactly(message.size());
    }
    SSL_shutdown(ssl);
  }
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  shutdown(fd, SHUT_WR);
  return transcript;
}

TEST_F(TlsConnectionTest, ServerGreetsEchoesAndSeesCloseNotify) {
  TcpPair pair = ConnectedPair();
  absl::Status handshake = absl::UnknownError("not yet");
  std::string described;
  TlsConnection* tls = WrapServer(pair.local, &handshake, &described);
  EchoHandler handler(shard_->loop.get(), tls);
  tls->SetHandler(&handler);
  tls->StartReceiving();
  const std::string greeting = "220 mx.test ESMTP Tern\r\n";
  handler.Greet(greeting);  // held until the handshake completes

  const std::vector<std::string> messages = {"EHLO client.test\r\n", std::string(70000, 'b'),
                                             "QUIT\r\n"};
  std::string transcript;
  std::thread client(
      [&] { transcript = RunBlockingClient(pair.remote, messages, greeting.size()); });
  EXPECT_TRUE(shard_->Run());
  client.join();
  close(pair.remote);

  EXPECT_TRUE(handshake.ok()) << handshake;
  EXPECT_EQ(described.rfind("TLSv1.3", 0), 0u) << described;
  EXPECT_EQ(transcript, greeting + messages[0] + messages[1] + messages[2]);
  EXPECT_EQ(handler.received, messages[0] + messages[1] + messages[2]);
  EXPECT_TRUE(handler.peer_closed_seen);
  EXPECT_TRUE(handler.peer_closed.ok()) << handler.peer_closed;  // close_notify
  EXPECT_TRUE(handler.closed);
}

TEST_F(TlsConnectionTest, GatheredSendHeldForTheHandshakeArrivesWholeAndInOrder) {
  TcpPair pair = ConnectedPair();
  absl::Status handshake = absl::UnknownError("not yet");
  std::string described;
  TlsConnection* tls = WrapServer(pair.local, &handshake, &described);
  EchoHandler handler(shard_->loop.get(), tls);
  tls->SetHandler(&handler);
  tls->StartReceiving();
  const std::vector<std::string> greeting = {"220 mx.test", std::string(40'000, 'g'),
                                             " ESMTP Tern\r\n"};
  handler.GreetInPieces(greeting);  // held until the handshake completes
  const size_t greeting_bytes = greeting[0].size() + greeting[1].size() + greeting[2].size();
  std::string transcript;
  std::thread client(
      [&] { transcript = RunBlockingClient(pair.remote, {"QUIT\r\n"}, greeting_bytes); });
  EXPECT_TRUE(shard_->Run());
  client.join();
  close(pair.remote);
  EXPECT_TRUE(handshake.ok()) << handshake;
  EXPECT_EQ(transcript, greeting[0] + greeting[1] + greeting[2] + "QUIT\r\n");
}

TEST_F(TlsConnectionTest, PlaintextClientFailsTheHandshake) {
  TcpPair pair = ConnectedPair();
  absl::Status handshake;
  std::string described;
  TlsConnection* tls = WrapServer(pair.local, &handshake, &described);
  EchoHandler handler(shard_->loop.get(), tls);
  tls->SetHandler(&handler);
  tls->StartReceiving();
  net::testing::WriteAll(pair.remote, "EHLO plain.test\r\nMAIL FROM:<a@b.test>\r\n");
  EXPECT_TRUE(shard_->Run());
  close(pair.remote);
  EXPECT_FALSE(handshake.ok());
  EXPECT_TRUE(handler.received.empty());  // nothing of it reached the handler
  EXPECT_TRUE(handler.peer_closed_seen);
  EXPECT_FALSE(handler.peer_closed.ok());
}

// Records what a client receives and sends one line after the other end's greeting.
class PingClient : public ConnectionHandler {
 public:
  PingClient(Connection* connection, std::function<void()> on_closed)
      : connection_(connection), on_closed_(std::move(on_closed)) {}
  void OnReceive(absl::string_view bytes) override {
    received.append(bytes.data(), bytes.size());
    if (received == "220 hi\r\n") {
      out_ = "PING\r\n";
      connection_->Send(out_);
    } else if (received == "220 hi\r\nPING\r\n") {
      connection_->Close();
    }
  }
  void OnSendDone(absl::Status status) override { EXPECT_TRUE(status.ok()) << status; }
  void OnPeerClosed(absl::Status status) override { connection_->Close(); }
  void OnClosed() override {
    closed = true;
    on_closed_();
  }
  std::string received;
  bool closed = false;

 private:
  Connection* connection_;
  std::function<void()> on_closed_;
  std::string out_;
};

TEST_F(TlsConnectionTest, ClientAndServerOnOneLoop) {
  TcpPair pair = ConnectedPair();
  absl::Status handshake;
  std::string described;
  TlsConnection* server = WrapServer(pair.local, &handshake, &described);
  EchoHandler echo(shard_->loop.get(), server);
  int closed = 0;
  core::Loop* loop = shard_->loop.get();
  auto count_closed = [&closed, loop] {
    if (++closed == 2) loop->Stop();
  };
  echo.on_closed = count_closed;
  server->SetHandler(&echo);
  server->StartReceiving();
  echo.Greet("220 hi\r\n");

  auto client_context = TlsContext::CreateClient({});
  ASSERT_TRUE(client_context.ok());
  auto lower = shard_->transport->Adopt(pair.remote);
  ASSERT_TRUE(lower.ok());
  TlsConnection* client =
      TlsConnection::Wrap(*lower, *TlsEngine::Create(*client_context, "mx.test"), {});
  PingClient ping(client, count_closed);
  client->SetHandler(&ping);
  client->StartReceiving();
  EXPECT_TRUE(shard_->Run());  // both ends closed
  EXPECT_TRUE(handshake.ok()) << handshake;
  EXPECT_EQ(ping.received, "220 hi\r\nPING\r\n");
  EXPECT_EQ(echo.received, "PING\r\n");
  EXPECT_TRUE(ping.closed);
}

// A client TLS connection at rest is released with its engine and continued over the
// re-adopted socket, as a parked outbound connection is by another shard: the TLS session
// goes on without a new handshake.
class ContinuedClient : public ConnectionHandler {
 public:
  ContinuedClient(Connection* c, std::function<void()> on_closed)
      : c_(c), on_closed_(std::move(on_closed)) {
    c_->SetHandler(this);
    c_->StartReceiving();
    c_->Send(out_);
  }
  void OnReceive(absl::string_view bytes) override {
    got.append(bytes.data(), bytes.size());
    if (got == out_) c_->Close();
  }
  void OnSendDone(absl::Status status) override { EXPECT_TRUE(status.ok()) << status; }
  void OnPeerClosed(absl::Status) override { c_->Close(); }
  void OnClosed() override { on_closed_(); }
  std::string got;

 private:
  Connection* c_;
  std::function<void()> on_closed_;
  std::string out_ = "PING after the hand-over\r\n";
};

class Parker : public ConnectionHandler {
 public:
  Parker(TlsConnection* c, std::function<void(int, std::unique_ptr<TlsEngine>)> released,
         std::function<void()> on_closed)
      : c_(c), released_(std::move(released)), on_closed_(std::move(on_closed)) {}
  void OnReceive(absl::string_view bytes) override {
    got.append(bytes.data(), bytes.size());
    if (got == "220 hi\r\n") c_->ReleaseWithEngine(std::move(released_));
  }
  void OnSendDone(absl::Status) override {}
  void OnPeerClosed(absl::Status) override { c_->Close(); }
  void OnClosed() override { on_closed_(); }
  std::string got;

 private:
  TlsConnection* c_;
  std::function<void(int, std::unique_ptr<TlsEngine>)> released_;
  std::function<void()> on_closed_;
};

TEST_F(TlsConnectionTest, ReleasedWithItsEngineAndContinued) {
  TcpPair pair = ConnectedPair();
  absl::Status handshake;
  std::string described;
  TlsConnection* server = WrapServer(pair.local, &handshake, &described);
  EchoHandler echo(shard_->loop.get(), server);
  int closed = 0;
  core::Loop* loop = shard_->loop.get();
  auto count_closed = [&closed, loop] {
    if (++closed == 3) loop->Stop();  // the parked life, the continued life, the server
  };
  echo.on_closed = count_closed;
  server->SetHandler(&echo);
  server->StartReceiving();
  echo.Greet("220 hi\r\n");

  auto client_context = TlsContext::CreateClient({});
  ASSERT_TRUE(client_context.ok());
  auto lower = shard_->transport->Adopt(pair.remote);
  ASSERT_TRUE(lower.ok());
  int handshakes = 0;
  TlsWrapOptions options;
  options.on_handshake = [&handshakes](const TlsEngine&, const absl::Status& r) {
    handshakes += r.ok() ? 1 : 0;
  };
  TlsConnection* client = TlsConnection::Wrap(
      *lower, *TlsEngine::Create(*client_context, "mx.test"), std::move(options));
  std::unique_ptr<ContinuedClient> continued;
  int released_fd = -1;
  Parker parker(
      client,
      [&](int fd, std::unique_ptr<TlsEngine> engine) {
        released_fd = fd;
        ASSERT_GE(fd, 0);
        ASSERT_NE(engine, nullptr);
        auto adopted = shard_->transport->Adopt(fd);
        ASSERT_TRUE(adopted.ok()) << adopted.status();
        continued = std::make_unique<ContinuedClient>(
            TlsConnection::Wrap(*adopted, std::move(engine), {}), count_closed);
      },
      count_closed);
  client->SetHandler(&parker);
  client->StartReceiving();
  EXPECT_TRUE(shard_->Run());
  EXPECT_GE(released_fd, 0);
  EXPECT_EQ(handshakes, 1);
  ASSERT_NE(continued, nullptr);
  EXPECT_EQ(continued->got, "PING after the hand-over\r\n");
  EXPECT_EQ(echo.received, "PING after the hand-over\r\n");
  EXPECT_EQ(closed, 3);
}

}  // namespace
}  // namespace tern::net::tls
