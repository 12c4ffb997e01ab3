// Loopback helpers for the transport tests: a connected TCP pair whose remote end the test
// plays with blocking calls, and a "shard" (a Loop and its Transport, of the test's I/O
// engine: tests/engine/test_engine.h) that runs once.
#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "core/loop.h"
#include "gtest/gtest.h"
#include "net/listen_socket.h"
#include "tests/engine/test_engine.h"

namespace tern::net::testing {

inline constexpr absl::Duration kTestDeadline = absl::Seconds(10);

// Both ends of one loopback TCP connection: `local` for the transport, `remote` played by
// the test with blocking calls.
struct TcpPair {
  int local = -1;
  int remote = -1;
  uint16_t remote_port = 0;
};

inline TcpPair ConnectedPair() {
  TcpPair pair;
  auto address = ParseSocketAddress("127.0.0.1:0");
  EXPECT_TRUE(address.ok());
  auto listener = OpenListener(*address, 4);
  EXPECT_TRUE(listener.ok()) << listener.status();
  address->set_port(*BoundPort(*listener));
  pair.remote_port = address->port();
  pair.local = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  EXPECT_EQ(
      connect(pair.local, reinterpret_cast<const sockaddr*>(&address->storage), address->length),
      0);
  pair.remote = accept4(*listener, nullptr, nullptr, SOCK_CLOEXEC);
  EXPECT_GE(pair.remote, 0);
  close(*listener);
  timeval timeout{10, 0};
  setsockopt(pair.remote, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  return pair;
}

// A blocking recv that retries when interrupted: with SO_RCVTIMEO set, the kernel reports
// an interruption of this thread (io_uring task work, say) as EINTR instead of restarting.
inline ssize_t Recv(int fd, char* buf, size_t size) {
  ssize_t got;
  do {
    got = recv(fd, buf, size, 0);
  } while (got < 0 && errno == EINTR);
  return got;
}

inline std::string ReadExactly(int fd, size_t n) {
  std::string out;
  char buf[4096];
  while (out.size() < n) {
    const ssize_t got = Recv(fd, buf, std::min(sizeof(buf), n - out.size()));
    if (got <= 0) break;
    out.append(buf, static_cast<size_t>(got));
  }
  return out;
}

inline void WriteAll(int fd, absl::string_view bytes) {
  ASSERT_EQ(send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size()));
}

// One loop and its transport; the loop runs once (a stopped Loop stays stopped).
struct Shard {
  std::unique_ptr<core::Loop> loop;
  std::unique_ptr<Transport> transport;

  static absl::StatusOr<Shard> Create() {
    auto loop = engine::CreateLoop(tern::engine::testing::TestIoEngine());
    if (!loop.ok()) return loop.status();
    auto transport = engine::CreateTransport(loop->get(), engine::TransportOptions{});
    if (!transport.ok()) return transport.status();
    return Shard{*std::move(loop), *std::move(transport)};
  }

  // Runs until something calls Stop(); false when the deadline stopped it instead.
  bool Run() {
    struct Deadline : core::Timer {
      core::Loop* loop = nullptr;
      bool fired = false;
      void OnTimer() override {
        fired = true;
        loop->Stop();
      }
    } deadline;
    deadline.loop = loop.get();
    loop->timers().Arm(&deadline, absl::Now() + kTestDeadline);
    loop->Run();
    loop->timers().Cancel(&deadline);
    return !deadline.fired;
  }
};

}  // namespace tern::net::testing
