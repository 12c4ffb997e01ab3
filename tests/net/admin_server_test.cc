// Tests of net/admin_server.h on loopback: clients served concurrently (a slow or idle one
// costs only itself), the connection limit, the request deadline, bodies read before the
// answer, refusals before the handler, and the tick.
#include "net/admin_server.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "net/listen_socket.h"

namespace tern::net {
namespace {

class AdminServerTest : public ::testing::Test {
 protected:
  void Start(AdminAccessOptions access = {}) {
    server_ = std::make_unique<AdminServer>(
        [this](absl::string_view method, absl::string_view target) {
          ++handled_;
          return HttpResponse{200, "text/plain", absl::StrCat(method, " ", target)};
        },
        [this] { ++ticks_; }, std::move(access));
    auto address = ParseSocketAddress("127.0.0.1:0");
    ASSERT_TRUE(address.ok());
    ASSERT_TRUE(server_->Start(*address).ok());
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }

  int Connect() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(server_->port());
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)), 0);
    timeval timeout{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    return fd;
  }

  // Everything until the server closes (or 10 s pass).
  static std::string ReadAll(int fd) {
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::recv(fd, buf, sizeof(buf), 0)) > 0) out.append(buf, static_cast<size_t>(n));
    return out;
  }

  std::string Exchange(const std::string& request) {
    const int fd = Connect();
    EXPECT_EQ(::send(fd, request.data(), request.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(request.size()));
    std::string answer = ReadAll(fd);
    ::close(fd);
    return answer;
  }

  std::unique_ptr<AdminServer> server_;
  std::atomic<int> handled_{0};
  std::atomic<int> ticks_{0};
};

constexpr const char* kGet = "GET /stats HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

TEST_F(AdminServerTest, AnswersOneRequestAndCloses) {
  Start();
  const std::string answer = Exchange(kGet);
  EXPECT_TRUE(absl::StartsWith(answer, "HTTP/1.0 200 OK\r\n")) << answer;
  EXPECT_TRUE(absl::EndsWith(answer, "\r\n\r\nGET /stats")) << answer;
  EXPECT_NE(answer.find("Content-Length: 10\r\n"), std::string::npos);
}

TEST_F(AdminServerTest, ASlowClientCostsOnlyItself) {
  Start();
  const int slow = Connect();
  ASSERT_EQ(::send(slow, "GET /st", 7, MSG_NOSIGNAL), 7);
  const auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(absl::StartsWith(Exchange(kGet), "HTTP/1.0 200"));
  EXPECT_TRUE(absl::StartsWith(Exchange(kGet), "HTTP/1.0 200"));
  // Well before the slow client's deadline (5 s): it did not hold the others up.
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(4));
  ASSERT_EQ(::send(slow, "ats HTTP/1.0\r\n\r\n", 16, MSG_NOSIGNAL), 16);
  EXPECT_TRUE(absl::StartsWith(ReadAll(slow), "HTTP/1.0 200"));
  ::close(slow);
}

TEST_F(AdminServerTest, IdleConnectionsBeyondTheLimitMakeRoomForNewOnes) {
  Start();
  std::vector<int> idle;
  for (size_t i = 0; i < AdminServer::kConnectionsMax + 36; ++i) idle.push_back(Connect());
  EXPECT_TRUE(absl::StartsWith(Exchange(kGet), "HTTP/1.0 200"));
  // The oldest ones were closed for the newer.
  char byte;
  EXPECT_EQ(::recv(idle.front(), &byte, 1, 0), 0);
  for (int fd : idle) ::close(fd);
}

TEST_F(AdminServerTest, AnIncompleteRequestIsClosedAtItsDeadline) {
  Start();
  const int fd = Connect();
  ASSERT_EQ(::send(fd, "GET / HTTP/1.1\r\n", 16, MSG_NOSIGNAL), 16);
  const auto started = std::chrono::steady_clock::now();
  const std::string answer = ReadAll(fd);
  const auto waited = std::chrono::steady_clock::now() - started;
  ::close(fd);
  EXPECT_TRUE(absl::StartsWith(answer, "HTTP/1.0 408")) << answer;
  EXPECT_GE(waited, AdminServer::kRequestTimeout - std::chrono::milliseconds(500));
  EXPECT_EQ(handled_, 0);
}

TEST_F(AdminServerTest, ABodyIsReadBeforeTheAnswer) {
  Start();
  const std::string answer = Exchange(
      "POST /flush HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Tern-Request: 1\r\nContent-Length: 5\r\n"
      "\r\nall=1");
  EXPECT_TRUE(absl::EndsWith(answer, "POST /flush")) << answer;
  EXPECT_TRUE(absl::StartsWith(
      Exchange(absl::StrCat("POST /flush HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ",
                            AdminServer::kBodyBytesMax + 1, "\r\n\r\n")),
      "HTTP/1.0 413"));
}

TEST_F(AdminServerTest, ABodyHandlerGetsTheWholeBody) {
  size_t body_bytes = 0;
  char last = 0;
  server_ = std::make_unique<AdminServer>(
      AdminServer::BodyHandler([&](absl::string_view, absl::string_view, absl::string_view body) {
        body_bytes = body.size();
        last = body.empty() ? 0 : body.back();
        return HttpResponse{200, "text/plain", "ok"};
      }));
  auto address = ParseSocketAddress("127.0.0.1:0");
  ASSERT_TRUE(address.ok());
  ASSERT_TRUE(server_->Start(*address).ok());
  std::string body(300000, 'x');
  body.back() = 'z';
  const std::string answer =
      Exchange(absl::StrCat("POST /suppressions/import HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                            "X-Tern-Request: 1\r\nContent-Length: ",
                            body.size(), "\r\n\r\n", body));
  EXPECT_TRUE(absl::StartsWith(answer, "HTTP/1.0 200")) << answer.substr(0, 200);
  EXPECT_EQ(body_bytes, body.size());
  EXPECT_EQ(last, 'z');
}

TEST_F(AdminServerTest, ABodyInALaterPacketCompletesTheRequest) {
  Start();
  const int fd = Connect();
  const std::string head =
      "POST /hold HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Tern-Request: 1\r\nContent-Length: 5\r\n\r\n";
  ASSERT_EQ(::send(fd, head.data(), head.size(), MSG_NOSIGNAL), static_cast<ssize_t>(head.size()));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the head is read alone
  ASSERT_EQ(::send(fd, "all=1", 5, MSG_NOSIGNAL), 5);
  const std::string answer = ReadAll(fd);
  ::close(fd);
  EXPECT_TRUE(absl::StartsWith(answer, "HTTP/1.0 200")) << answer;
  EXPECT_TRUE(absl::EndsWith(answer, "POST /hold")) << answer;
}

TEST_F(AdminServerTest, RefusalsNeverReachTheHandler) {
  Start({.token = "s3cret"});
  std::string answer = Exchange(kGet);
  EXPECT_TRUE(absl::StartsWith(answer, "HTTP/1.0 401 Unauthorized\r\n")) << answer;
  EXPECT_NE(answer.find("\r\nWWW-Authenticate: Bearer"), std::string::npos);
  answer =
      Exchange("GET /queue HTTP/1.1\r\nHost: evil.example\r\nAuthorization: Bearer s3cret\r\n\r\n");
  EXPECT_TRUE(absl::StartsWith(answer, "HTTP/1.0 421 Misdirected Request\r\n")) << answer;
  EXPECT_TRUE(absl::StartsWith(Exchange("garbage\r\n\r\n"), "HTTP/1.0 400"));
  EXPECT_EQ(handled_, 0);
  answer =
      Exchange("GET /queue HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer s3cret\r\n\r\n");
  EXPECT_TRUE(absl::StartsWith(answer, "HTTP/1.0 200")) << answer;
  EXPECT_EQ(handled_, 1);
}

TEST_F(AdminServerTest, TheTickRunsWhileClientsWait) {
  Start();
  const int idle = Connect();
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (ticks_ < 3 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_GE(ticks_, 3);
  ::close(idle);
}

}  // namespace
}  // namespace tern::net
