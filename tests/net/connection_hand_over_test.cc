// Tests of handing a connection from one ring to another (net/transport.h): Release() gives
// the still-open socket back once nothing is in flight, Adopt() wraps it on another loop
// (on another thread, as shards do), and a connection that received anything, lost its
// peer or had a send cut short is closed instead (done(-1)). Real engine
// (tests/engine/test_engine.h), real loopback TCP sockets.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "net/transport.h"
#include "tests/net/loopback_test_util.h"

namespace tern::net {
namespace {

using testing::ConnectedPair;
using testing::ReadExactly;
using testing::Recv;
using testing::Shard;
using testing::TcpPair;
using testing::WriteAll;

bool IsOpen(int fd) { return fcntl(fd, F_GETFD) != -1; }

// Records every event; each may run a scripted step.
class ScriptedHandler : public ConnectionHandler {
 public:
  void OnReceive(absl::string_view bytes) override {
    received.append(bytes.data(), bytes.size());
    if (on_receive) on_receive();
  }
  void OnSendDone(absl::Status status) override {
    ++sends_done;
    if (on_send_done) on_send_done(status);
  }
  void OnPeerClosed(absl::Status status) override {
    ++peer_closed;
    if (on_peer_closed) on_peer_closed();
  }
  void OnClosed() override {
    ++closed;
    if (on_closed) on_closed();
  }

  std::string received;
  int sends_done = 0;
  int peer_closed = 0;
  int closed = 0;
  std::function<void()> on_receive;
  std::function<void(absl::Status)> on_send_done;
  std::function<void()> on_peer_closed;
  std::function<void()> on_closed;
};

// Releases the connection; the result lands in `*fd` (-2 until done runs).
auto RecordFd(int* fd) {
  *fd = -2;
  return [fd](int released) { *fd = released; };
}

TEST(ConnectionHandOver, ReleasedOnOneLoopAdoptedOnAnotherThreadsLoop) {
  auto a = Shard::Create();
  if (!a.ok()) GTEST_SKIP() << a.status();
  TcpPair pair = ConnectedPair();

  // Shard A: a request and its answer, then the connection is released idle.
  auto adopted = a->transport->Adopt(pair.local);
  ASSERT_TRUE(adopted.ok()) << adopted.status();
  Connection* connection = *adopted;
  EXPECT_EQ(reinterpret_cast<const sockaddr_in*>(&connection->peer_address())->sin_port,
            htons(pair.remote_port));
  ScriptedHandler handler_a;
  int released = -2;
  bool done_before_closed = false;
  handler_a.on_receive = [&] {
    if (handler_a.received == "hello\r\n") connection->Send("250 ok\r\n");
  };
  handler_a.on_send_done = [&](absl::Status status) {
    EXPECT_TRUE(status.ok()) << status;
    connection->Release(RecordFd(&released));
    EXPECT_EQ(released, -2);  // never inside Release()
  };
  handler_a.on_closed = [&] {
    done_before_closed = released != -2;
    a->loop->Stop();
  };
  connection->SetHandler(&handler_a);
  connection->StartReceiving();
  WriteAll(pair.remote, "hello\r\n");
  ASSERT_TRUE(a->Run());
  EXPECT_EQ(ReadExactly(pair.remote, 8), "250 ok\r\n");
  ASSERT_GE(released, 0);
  EXPECT_TRUE(done_before_closed);
  EXPECT_EQ(handler_a.closed, 1);
  EXPECT_EQ(a->transport->connection_count(), 0u);
  EXPECT_TRUE(IsOpen(released));

  // Bytes the peer sends while the socket is parked wait in the kernel for the adopter.
  WriteAll(pair.remote, "again\r\n");

  // Shard B, on its own thread with its own ring, continues the conversation.
  std::string received_b;
  int closed_b = 0;
  std::thread shard_b([&, fd = released] {
    auto b = Shard::Create();
    ASSERT_TRUE(b.ok()) << b.status();
    auto adopted_b = b->transport->Adopt(fd);
    ASSERT_TRUE(adopted_b.ok()) << adopted_b.status();
    Connection* c = *adopted_b;
    ScriptedHandler handler_b;
    handler_b.on_receive = [&] {
      if (handler_b.received == "again\r\n") c->Send("250 again\r\n");
    };
    handler_b.on_send_done = [&](absl::Status status) { c->Close(); };
    handler_b.on_closed = [&] { b->loop->Stop(); };
    c->SetHandler(&handler_b);
    c->StartReceiving();
    EXPECT_TRUE(b->Run());
    received_b = handler_b.received;
    closed_b = handler_b.closed;
  });
  EXPECT_EQ(ReadExactly(pair.remote, 11), "250 again\r\n");
  shard_b.join();
  EXPECT_EQ(received_b, "again\r\n");
  EXPECT_EQ(closed_b, 1);
  // B closed the socket: the peer sees the end of the stream.
  char byte;
  EXPECT_EQ(Recv(pair.remote, &byte, 1), 0);
  close(pair.remote);
}

TEST(ConnectionHandOver, ReleaseAfterThePeerClosedGivesMinusOne) {
  auto a = Shard::Create();
  if (!a.ok()) GTEST_SKIP() << a.status();
  TcpPair pair = ConnectedPair();
  auto adopted = a->transport->Adopt(pair.local);
  ASSERT_TRUE(adopted.ok());
  Connection* connection = *adopted;
  ScriptedHandler handler;
  int released = -2;
  handler.on_peer_closed = [&] { connection->Release(RecordFd(&released)); };
  handler.on_closed = [&] { a->loop->Stop(); };
  connection->SetHandler(&handler);
  connection->StartReceiving();
  close(pair.remote);
  ASSERT_TRUE(a->Run());
  EXPECT_EQ(released, -1);
  EXPECT_EQ(handler.peer_closed, 1);
  EXPECT_EQ(handler.closed, 1);
  EXPECT_EQ(a->transport->connection_count(), 0u);
}

TEST(ConnectionHandOver, PeerCloseNotYetSeenGivesMinusOne) {
  // The FIN is in the kernel but no receive ever ran: the final check finds it.
  auto a = Shard::Create();
  if (!a.ok()) GTEST_SKIP() << a.status();
  TcpPair pair = ConnectedPair();
  close(pair.remote);
  auto adopted = a->transport->Adopt(pair.local);
  ASSERT_TRUE(adopted.ok());
  ScriptedHandler handler;
  handler.on_closed = [&] { a->loop->Stop(); };
  (*adopted)->SetHandler(&handler);
  int released = -2;
  (*adopted)->Release(RecordFd(&released));
  ASSERT_TRUE(a->Run());
  EXPECT_EQ(released, -1);
  EXPECT_EQ(handler.closed, 1);
  EXPECT_FALSE(IsOpen(pair.local));
}

TEST(ConnectionHandOver, UnreadBytesGiveMinusOne) {
  auto a = Shard::Create();
  if (!a.ok()) GTEST_SKIP() << a.status();
  TcpPair pair = ConnectedPair();
  WriteAll(pair.remote, "421 4.4.2 idle too long\r\n");
  auto adopted = a->transport->Adopt(pair.local);
  ASSERT_TRUE(adopted.ok());
  ScriptedHandler handler;
  handler.on_closed = [&] { a->loop->Stop(); };
  (*adopted)->SetHandler(&handler);
  int released = -2;
  (*adopted)->Release(RecordFd(&released));  // receiving never started
  ASSERT_TRUE(a->Run());
  EXPECT_EQ(released, -1);
  EXPECT_EQ(handler.received, "");
  EXPECT_EQ(handler.closed, 1);
  // The transport closed the socket (with unread bytes, Linux resets the connection).
  char byte;
  EXPECT_LE(Recv(pair.remote, &byte, 1), 0);
  close(pair.remote);
}

TEST(ConnectionHandOver, BytesArrivingWhileReleasingGiveMinusOneAndAreNotDelivered) {
  auto a = Shard::Create();
  if (!a.ok()) GTEST_SKIP() << a.status();
  TcpPair pair = ConnectedPair();
  auto adopted = a->transport->Adopt(pair.local);
  ASSERT_TRUE(adopted.ok());
  ScriptedHandler handler;
  handler.on_closed = [&] { a->loop->Stop(); };
  (*adopted)->SetHandler(&handler);
  (*adopted)->StartReceiving();
  int released = -2;
  (*adopted)->Release(RecordFd(&released));
  // Arrives before the ring saw the receive or its cancel.
  WriteAll(pair.remote, "421 4.3.2 shutting down\r\n");
  ASSERT_TRUE(a->Run());
  EXPECT_EQ(released, -1);
  EXPECT_EQ(handler.received, "");  // nothing after Release()
  EXPECT_EQ(handler.closed, 1);
  close(pair.remote);
}

TEST(ConnectionHandOver, ReleaseWithASendInFlightGivesMinusOne) {
  auto a = Shard::Create();
  if (!a.ok()) GTEST_SKIP() << a.status();
  TcpPair pair = ConnectedPair();
  // Small buffers and a peer that never reads: the send stays in flight.
  int small = 4096;
  setsockopt(pair.local, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
  setsockopt(pair.remote, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  auto adopted = a->transport->Adopt(pair.local);
  ASSERT_TRUE(adopted.ok());
  Connection* connection = *adopted;
  ScriptedHandler handler;
  handler.on_closed = [&] { a->loop->Stop(); };
  connection->SetHandler(&handler);
  connection->StartReceiving();
  const std::string body(8 << 20, 'x');
  connection->Send(body);
  int released = -2;
  bool was_sending = false;
  struct ReleaseLater : core::Timer {
    std::function<void()> run;
    void OnTimer() override { run(); }
  } later;
  later.run = [&] {
    was_sending = connection->sending();
    connection->Release(RecordFd(&released));
  };
  a->loop->timers().Arm(&later, absl::Now() + absl::Milliseconds(50));
  ASSERT_TRUE(a->Run());
  EXPECT_TRUE(was_sending);
  EXPECT_EQ(released, -1);
  EXPECT_EQ(handler.sends_done, 0);  // like Close(): no OnSendDone after Release()
  EXPECT_EQ(handler.closed, 1);
  EXPECT_EQ(a->transport->connection_count(), 0u);
  close(pair.remote);
}

TEST(ConnectionHandOver, ReleaseAfterCloseGivesMinusOneBeforeOnClosed) {
  auto a = Shard::Create();
  if (!a.ok()) GTEST_SKIP() << a.status();
  TcpPair pair = ConnectedPair();
  auto adopted = a->transport->Adopt(pair.local);
  ASSERT_TRUE(adopted.ok());
  ScriptedHandler handler;
  int released = -2;
  int released_when_closed = -3;
  handler.on_closed = [&] {
    released_when_closed = released;
    a->loop->Stop();
  };
  (*adopted)->SetHandler(&handler);
  (*adopted)->StartReceiving();
  (*adopted)->Close();
  (*adopted)->Release(RecordFd(&released));
  ASSERT_TRUE(a->Run());
  EXPECT_EQ(released, -1);
  EXPECT_EQ(released_when_closed, -1);
  EXPECT_EQ(handler.closed, 1);
  close(pair.remote);
}

TEST(ConnectionHandOver, ReleaseOfAConnectionThatNeverReceived) {
  // Released before StartReceiving(): nothing to cancel, still handed over from the loop.
  auto a = Shard::Create();
  if (!a.ok()) GTEST_SKIP() << a.status();
  TcpPair pair = ConnectedPair();
  auto adopted = a->transport->Adopt(pair.local);
  ASSERT_TRUE(adopted.ok());
  ScriptedHandler handler;
  handler.on_closed = [&] { a->loop->Stop(); };
  (*adopted)->SetHandler(&handler);
  int released = -2;
  (*adopted)->Release(RecordFd(&released));
  EXPECT_EQ(released, -2);
  ASSERT_TRUE(a->Run());
  EXPECT_EQ(released, pair.local);
  EXPECT_TRUE(IsOpen(pair.local));
  close(pair.local);
  close(pair.remote);
}

TEST(TransportAdopt, RejectsWhatIsNotAConnectedStreamSocketAndClosesIt) {
  auto a = Shard::Create();
  if (!a.ok()) GTEST_SKIP() << a.status();
  EXPECT_TRUE(absl::IsInvalidArgument(a->transport->Adopt(-1).status()));

  const int udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(udp, 0);
  EXPECT_TRUE(absl::IsInvalidArgument(a->transport->Adopt(udp).status()));
  EXPECT_FALSE(IsOpen(udp));

  const int unconnected = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(unconnected, 0);
  auto result = a->transport->Adopt(unconnected);
  EXPECT_TRUE(absl::IsFailedPrecondition(result.status())) << result.status();
  EXPECT_FALSE(IsOpen(unconnected));

  int pipe_fds[2];
  ASSERT_EQ(pipe2(pipe_fds, O_CLOEXEC), 0);
  EXPECT_TRUE(absl::IsInvalidArgument(a->transport->Adopt(pipe_fds[0]).status()));
  EXPECT_FALSE(IsOpen(pipe_fds[0]));
  close(pipe_fds[1]);
  EXPECT_EQ(a->transport->connection_count(), 0u);
}

// An accept handler may take the bare socket (net/inbound_balance.h's hand-off): the
// transport then neither wraps it nor calls OnAccept(), and another loop adopts it with the
// client's first bytes still waiting on it.
TEST(ConnectionHandOver, AcceptedSocketTakenByTheHandlerIsAdoptedElsewhere) {
  auto a = Shard::Create();
  if (!a.ok()) GTEST_SKIP() << a.status();
  auto address = ParseSocketAddress("127.0.0.1:0");
  ASSERT_TRUE(address.ok());
  auto listener = OpenListener(*address, 4);
  ASSERT_TRUE(listener.ok()) << listener.status();
  address->set_port(*BoundPort(*listener));
  struct TakingAcceptor : AcceptHandler {
    bool TakeAcceptedSocket(int fd) override {
      taken = fd;
      loop->Stop();
      return true;
    }
    void OnAccept(Connection* connection) override { ++accepted; }
    core::Loop* loop = nullptr;
    int taken = -1;
    int accepted = 0;
  } acceptor;
  acceptor.loop = a->loop.get();
  ASSERT_TRUE(a->transport->Listen(*listener, &acceptor).ok());
  const int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_EQ(connect(client, reinterpret_cast<const sockaddr*>(&address->storage), address->length),
            0);
  timeval timeout{10, 0};
  setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  WriteAll(client, "early\r\n");
  ASSERT_TRUE(a->Run());
  ASSERT_GE(acceptor.taken, 0);
  EXPECT_EQ(acceptor.accepted, 0);
  EXPECT_EQ(a->transport->connection_count(), 0u);

  std::string received_b;
  std::thread shard_b([&, fd = acceptor.taken] {
    auto b = Shard::Create();
    ASSERT_TRUE(b.ok()) << b.status();
    auto adopted = b->transport->Adopt(fd);
    ASSERT_TRUE(adopted.ok()) << adopted.status();
    Connection* c = *adopted;
    ScriptedHandler handler;
    handler.on_receive = [&] {
      if (handler.received == "early\r\n") c->Send("220 here\r\n");
    };
    handler.on_send_done = [&](absl::Status status) { c->Close(); };
    handler.on_closed = [&] { b->loop->Stop(); };
    c->SetHandler(&handler);
    c->StartReceiving();
    EXPECT_TRUE(b->Run());
    received_b = handler.received;
  });
  EXPECT_EQ(ReadExactly(client, 10), "220 here\r\n");
  shard_b.join();
  EXPECT_EQ(received_b, "early\r\n");
  close(client);
}

}  // namespace
}  // namespace tern::net
