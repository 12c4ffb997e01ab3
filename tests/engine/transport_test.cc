// Tests of every engine's transport (engine/io_engine.h) on real loopback sockets: accept,
// receive (across many small buffers), send in place, peer close, Close() -> OnClosed()
// exactly once, connect, refused and bad-source connects.
#include "net/transport.h"

#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "engine/io_engine.h"
#include "gtest/gtest.h"
#include "net/listen_socket.h"
#include "tests/engine/test_engine.h"

namespace tern::engine {
namespace {

using net::AcceptHandler;
using net::BoundPort;
using net::ConnectHandler;
using net::Connection;
using net::ConnectionHandler;
using net::ConnectRequest;
using net::OpenListener;
using net::ParseSocketAddress;
using net::Transport;

// Echoes what it receives; closes when the peer closes; stops the loop when closed.
class EchoHandler : public ConnectionHandler {
 public:
  EchoHandler(Connection* connection, core::Loop* loop) : connection_(connection), loop_(loop) {}
  void OnReceive(absl::string_view bytes) override {
    received_.append(bytes.data(), bytes.size());
    pending_.append(bytes.data(), bytes.size());
    MaybeSend();
  }
  void OnSendDone(absl::Status status) override {
    EXPECT_TRUE(status.ok());
    MaybeSend();
  }
  void OnPeerClosed(absl::Status status) override { connection_->Close(); }
  void OnClosed() override {
    ++closed_;
    loop_->Stop();
  }
  std::string received_;
  int closed_ = 0;

 private:
  void MaybeSend() {
    if (connection_->sending() || pending_.empty()) return;
    in_flight_ = std::move(pending_);
    pending_.clear();
    connection_->Send(in_flight_);
  }
  Connection* connection_;
  core::Loop* loop_;
  std::string pending_;
  std::string in_flight_;
};

class EchoAcceptor : public AcceptHandler {
 public:
  explicit EchoAcceptor(core::Loop* loop) : loop_(loop) {}
  void OnAccept(Connection* connection) override {
    handler = std::make_unique<EchoHandler>(connection, loop_);
    connection->SetHandler(handler.get());
    connection->StartReceiving();
  }
  std::unique_ptr<EchoHandler> handler;

 private:
  core::Loop* loop_;
};

class TransportTest : public ::testing::TestWithParam<engine::IoEngine> {};

TEST_P(TransportTest, EchoesAcrossManySmallBuffersAndCloses) {
  auto loop = engine::CreateLoop(GetParam());
  if (!loop.ok()) GTEST_SKIP() << "engine unavailable: " << loop.status();
  // Tiny buffers so one send spans many receive buffers.
  engine::TransportOptions options;
  options.receive_buffers = 8;
  options.receive_buffer_bytes = 1024;
  auto transport = engine::CreateTransport(loop->get(), options);
  if (!transport.ok()) GTEST_SKIP() << transport.status();
  auto address = ParseSocketAddress("127.0.0.1:0");
  ASSERT_TRUE(address.ok());
  auto fd = OpenListener(*address, 16);
  ASSERT_TRUE(fd.ok());
  auto port = BoundPort(*fd);
  ASSERT_TRUE(port.ok());
  EchoAcceptor acceptor(loop->get());
  ASSERT_TRUE((*transport)->Listen(*fd, &acceptor).ok());

  std::string payload;
  for (int i = 0; i < 100'000; ++i) payload.push_back(static_cast<char>('a' + i % 26));
  std::string echoed;
  std::thread client([&] {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(*port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(s, reinterpret_cast<sockaddr*>(&to), sizeof(to)), 0);
    timeval timeout{10, 0};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    size_t sent = 0;
    while (sent < payload.size()) {
      ssize_t n = send(s, payload.data() + sent, std::min<size_t>(7000, payload.size() - sent), 0);
      ASSERT_GT(n, 0);
      sent += static_cast<size_t>(n);
    }
    char buf[65536];
    while (echoed.size() < payload.size()) {
      ssize_t n = recv(s, buf, sizeof(buf), 0);
      if (n <= 0) break;
      echoed.append(buf, static_cast<size_t>(n));
    }
    close(s);
  });
  (*loop)->Run();
  client.join();
  EXPECT_EQ(echoed, payload);
  ASSERT_NE(acceptor.handler, nullptr);
  EXPECT_EQ(acceptor.handler->received_, payload);
  EXPECT_EQ(acceptor.handler->closed_, 1);
  EXPECT_EQ((*transport)->connection_count(), 0u);
}

}  // namespace
}  // namespace tern::engine

namespace tern::engine {
namespace {

class RecordingConnect : public ConnectHandler {
 public:
  explicit RecordingConnect(core::Loop* loop) : loop_(loop) {}
  void OnConnected(absl::StatusOr<Connection*> connection) override {
    ++calls;
    result = connection.status();
    if (connection.ok()) (*connection)->Close();  // OnClosed needs no handler here
    loop_->Stop();
  }
  int calls = 0;
  absl::Status result;

 private:
  core::Loop* loop_;
};

class StopAfter : public core::Timer {
 public:
  explicit StopAfter(core::Loop* loop) : loop_(loop) {}
  void OnTimer() override { loop_->Stop(); }

 private:
  core::Loop* loop_;
};

struct Rig {
  std::unique_ptr<core::Loop> loop;
  std::unique_ptr<Transport> transport;
};

absl::StatusOr<Rig> MakeRig(engine::IoEngine io_engine) {
  auto loop = engine::CreateLoop(io_engine);
  if (!loop.ok()) return loop.status();
  auto transport = engine::CreateTransport(loop->get(), engine::TransportOptions{});
  if (!transport.ok()) return transport.status();
  return Rig{*std::move(loop), *std::move(transport)};
}

TEST_P(TransportTest, ConnectsToALoopbackListener) {
  auto rig = MakeRig(GetParam());
  if (!rig.ok()) GTEST_SKIP() << rig.status();
  auto address = ParseSocketAddress("127.0.0.1:0");
  ASSERT_TRUE(address.ok());
  auto fd = OpenListener(*address, 16);
  ASSERT_TRUE(fd.ok());
  address->set_port(*BoundPort(*fd));
  ConnectRequest request;
  request.to = address->storage;
  request.to_length = address->length;
  RecordingConnect handler(rig->loop.get());
  rig->transport->Connect(request, &handler);
  EXPECT_EQ(handler.calls, 0);  // never inside the call
  StopAfter guard(rig->loop.get());
  rig->loop->timers().Arm(&guard, absl::Now() + absl::Seconds(10));
  rig->loop->Run();
  EXPECT_EQ(handler.calls, 1);
  EXPECT_TRUE(handler.result.ok()) << handler.result;
  close(*fd);
}

TEST_P(TransportTest, ConnectRefusedIsUnavailable) {
  auto rig = MakeRig(GetParam());
  if (!rig.ok()) GTEST_SKIP() << rig.status();
  // A port that was just free and has no listener.
  auto address = ParseSocketAddress("127.0.0.1:0");
  auto fd = OpenListener(*address, 16);
  ASSERT_TRUE(fd.ok());
  address->set_port(*BoundPort(*fd));
  close(*fd);
  ConnectRequest request;
  request.to = address->storage;
  request.to_length = address->length;
  RecordingConnect handler(rig->loop.get());
  rig->transport->Connect(request, &handler);
  StopAfter guard(rig->loop.get());
  rig->loop->timers().Arm(&guard, absl::Now() + absl::Seconds(10));
  rig->loop->Run();
  EXPECT_EQ(handler.calls, 1);
  EXPECT_TRUE(absl::IsUnavailable(handler.result)) << handler.result;
}

TEST_P(TransportTest, BadSourceAddressIsReportedFromTheLoop) {
  auto rig = MakeRig(GetParam());
  if (!rig.ok()) GTEST_SKIP() << rig.status();
  auto to = ParseSocketAddress("127.0.0.1:9");
  auto from = ParseSocketAddress("192.0.2.1:0");  // not an address of this host
  ConnectRequest request;
  request.to = to->storage;
  request.to_length = to->length;
  request.from = from->storage;
  request.from_length = from->length;
  RecordingConnect handler(rig->loop.get());
  rig->transport->Connect(request, &handler);
  EXPECT_EQ(handler.calls, 0);
  StopAfter guard(rig->loop.get());
  rig->loop->timers().Arm(&guard, absl::Now() + absl::Seconds(10));
  rig->loop->Run();
  EXPECT_EQ(handler.calls, 1);
  EXPECT_TRUE(absl::IsUnavailable(handler.result)) << handler.result;
}

INSTANTIATE_TEST_SUITE_P(Engines, TransportTest,
                         ::testing::ValuesIn(tern::engine::testing::AllIoEngines()),
                         [](const auto& info) {
                           return tern::engine::testing::IoEngineTestName(info.param);
                         });

}  // namespace
}  // namespace tern::engine
