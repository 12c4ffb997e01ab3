// Tests of the gathered send (Connection::SendPieces) on the test engine's transport, over real
// loopback TCP: the pieces arrive in order as one stream, a send far larger than the socket
// buffer (written in several short writes) resumes in the right piece at the right byte,
// and OnSendDone comes once per SendPieces, only after the last byte.
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "net/transport.h"
#include "tests/net/loopback_test_util.h"

namespace tern::net {
namespace {

using testing::ConnectedPair;
using testing::ReadExactly;
using testing::Shard;
using testing::TcpPair;

// Counts completed sends and runs the next scripted step after each.
class SendCounter : public ConnectionHandler {
 public:
  void OnReceive(absl::string_view bytes) override {}
  void OnSendDone(absl::Status status) override {
    EXPECT_TRUE(status.ok()) << status;
    ++sends_done;
    if (after_send) after_send();
  }
  void OnPeerClosed(absl::Status status) override {}
  void OnClosed() override {
    ++closed;
    if (on_closed) on_closed();
  }
  int sends_done = 0;
  int closed = 0;
  std::function<void()> after_send;
  std::function<void()> on_closed;
};

std::string Pattern(size_t bytes, char seed) {
  std::string out(bytes, '\0');
  for (size_t i = 0; i < bytes; ++i) out[i] = static_cast<char>(seed + (i * 7 + i / 251) % 61);
  return out;
}

TEST(GatheredSend, PiecesLargerThanTheSocketBufferArriveInOrderWithOneSendDone) {
  auto shard = Shard::Create();
  if (!shard.ok()) GTEST_SKIP() << shard.status();
  TcpPair pair = ConnectedPair();
  // A small send buffer and a reader that starts late: the kernel takes the pieces in
  // several short writes, so the resume point falls inside and between pieces.
  const int small = 16 * 1024;
  ASSERT_EQ(setsockopt(pair.local, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
  ASSERT_EQ(setsockopt(pair.remote, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
  auto adopted = shard->transport->Adopt(pair.local);
  ASSERT_TRUE(adopted.ok()) << adopted.status();
  Connection* connection = *adopted;

  // Two rounds, to reuse the connection's iovecs: 5 pieces, then kMaxSendPieces.
  std::vector<std::string> first = {"MAIL FROM:<a@example.com>\r\n", Pattern(3 << 20, 'A'), "x",
                                    Pattern(70'001, 'a'), "\r\n.\r\n"};
  std::vector<std::string> second;
  for (size_t i = 0; i < Connection::kMaxSendPieces; ++i) {
    second.push_back(Pattern(1 + i * 997, static_cast<char>('0' + i % 10)));
  }
  std::string expected;
  for (const auto& piece : first) expected += piece;
  for (const auto& piece : second) expected += piece;
  auto send_all = [connection](const std::vector<std::string>& pieces) {
    std::vector<absl::string_view> views(pieces.begin(), pieces.end());
    connection->SendPieces(views);  // the views go away; the bytes stay
  };

  SendCounter counter;
  counter.after_send = [&] {
    if (counter.sends_done == 1) {
      EXPECT_FALSE(connection->sending());
      send_all(second);
    } else {
      connection->Close();
    }
  };
  counter.on_closed = [&] { shard->loop->Stop(); };
  connection->SetHandler(&counter);
  connection->StartReceiving();
  send_all(first);
  EXPECT_TRUE(connection->sending());
  std::string received;
  std::thread reader([&] {
    usleep(50'000);
    received = ReadExactly(pair.remote, expected.size());
  });
  EXPECT_TRUE(shard->Run());
  reader.join();
  EXPECT_EQ(counter.sends_done, 2);
  EXPECT_EQ(counter.closed, 1);
  ASSERT_EQ(received.size(), expected.size());
  EXPECT_TRUE(received == expected) << "the stream differs from the pieces in order";
  close(pair.remote);
}

TEST(GatheredSend, OnePieceIsAPlainSend) {
  auto shard = Shard::Create();
  if (!shard.ok()) GTEST_SKIP() << shard.status();
  TcpPair pair = ConnectedPair();
  auto adopted = shard->transport->Adopt(pair.local);
  ASSERT_TRUE(adopted.ok()) << adopted.status();
  Connection* connection = *adopted;
  SendCounter counter;
  counter.after_send = [&] { connection->Close(); };
  counter.on_closed = [&] { shard->loop->Stop(); };
  connection->SetHandler(&counter);
  connection->StartReceiving();
  connection->Send("250 ok\r\n");
  EXPECT_TRUE(shard->Run());
  EXPECT_EQ(ReadExactly(pair.remote, 8), "250 ok\r\n");
  EXPECT_EQ(counter.sends_done, 1);
  close(pair.remote);
}

}  // namespace
}  // namespace tern::net
