// Implementation of net/admin_server.h.
#include "net/admin_server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/check.h"
#include "core/log.h"
#include "net/http_request_head.h"

namespace tern::net {

struct AdminServer::Connection {
  int fd = -1;
  std::string peer;  // "127.0.0.1:40000", for the log
  Clock::time_point accepted;
  Clock::time_point deadline;
  std::string received;      // at most kRequestBytesMax bytes, then request_bytes
  size_t request_bytes = 0;  // head and body, once the head is parsed
  std::string answer;        // the whole response, once the request is complete
  size_t sent_bytes = 0;
  bool head_complete = false;  // and the body not yet
  bool answering = false;
};

namespace {

constexpr const char* kText = "text/plain; charset=utf-8";

std::string FrameResponse(const HttpResponse& response) {
  std::string out = absl::StrCat("HTTP/1.0 ", response.status, " ", ReasonPhrase(response.status),
                                 "\r\nContent-Type: ", response.content_type,
                                 "\r\nContent-Length: ", response.body.size(), "\r\n");
  for (const auto& [name, value] : response.headers)
    absl::StrAppend(&out, name, ": ", value, "\r\n");
  absl::StrAppend(&out, "Cache-Control: no-store\r\nConnection: close\r\n\r\n", response.body);
  return out;
}

}  // namespace

AdminServer::AdminServer(Handler handler, std::function<void()> tick, AdminAccessOptions access)
    : AdminServer(BodyHandler([handler = std::move(handler)](
                                  absl::string_view method, absl::string_view target,
                                  absl::string_view) { return handler(method, target); }),
                  std::move(tick), std::move(access)) {}

AdminServer::AdminServer(BodyHandler handler, std::function<void()> tick, AdminAccessOptions access)
    : handler_(std::move(handler)), tick_(std::move(tick)), access_options_(std::move(access)) {}

AdminServer::~AdminServer() { Stop(); }

absl::Status AdminServer::Start(const SocketAddress& address) {
  auto fd = OpenListener(address, static_cast<int>(kConnectionsMax));
  if (!fd.ok()) return fd.status();
  listen_fd_ = *fd;
  auto port = BoundPort(listen_fd_);
  if (!port.ok()) return port.status();
  port_ = *port;
  if (::fcntl(listen_fd_, F_SETFL, ::fcntl(listen_fd_, F_GETFL) | O_NONBLOCK) != 0) {
    return absl::InternalError(absl::StrCat("fcntl O_NONBLOCK: ", std::strerror(errno)));
  }
  access_ = std::make_unique<AdminAccess>(address, access_options_);
  thread_ = std::thread([this] { Serve(); });
  return absl::OkStatus();
}

void AdminServer::Stop() {
  if (!thread_.joinable()) return;
  stopping_ = true;
  thread_.join();
  for (auto& connection : connections_) CloseOne(*connection);
  connections_.clear();
  ::close(listen_fd_);
  listen_fd_ = -1;
}

void AdminServer::Serve() {
  Clock::time_point next_tick = Clock::now();
  std::vector<pollfd> polled;
  // Ends with Stop: every round waits at most kTickInterval.
  while (!stopping_) {
    Clock::time_point now = Clock::now();
    if (now >= next_tick) {
      if (tick_) tick_();
      next_tick = now + kTickInterval;
    }
    Expire(now);
    polled.clear();
    // Out of descriptors, the listener stays readable: it waits a round instead of spinning.
    polled.push_back({listen_fd_, static_cast<short>(now < accept_paused_until_ ? 0 : POLLIN), 0});
    Clock::time_point wake = next_tick;
    for (const auto& connection : connections_) {
      polled.push_back(
          {connection->fd, static_cast<short>(connection->answering ? POLLOUT : POLLIN), 0});
      wake = std::min(wake, connection->deadline);
    }
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(wake - now);
    const int wait_ms =
        static_cast<int>(std::clamp<int64_t>(wait.count() + 1, 0, kTickInterval.count()));
    if (::poll(polled.data(), polled.size(), wait_ms) <= 0) continue;
    now = Clock::now();
    // Connections accepted below are polled from the next round on.
    const size_t polled_connections = polled.size() - 1;
    for (size_t i = 0; i < polled_connections; ++i) {
      if (polled[i + 1].revents == 0) continue;
      Connection& connection = *connections_[i];
      if (connection.answering) {
        Send(connection);
      } else {
        Receive(connection, now);
      }
    }
    if (polled[0].revents != 0) Accept(now);
    std::erase_if(connections_, [](const auto& connection) { return connection->fd < 0; });
  }
}

void AdminServer::Accept(Clock::time_point now) {
  // Bounded: the backlog holds at most kConnectionsMax (a few more on Linux).
  for (size_t round = 0; round < 2 * kConnectionsMax; ++round) {
    sockaddr_storage peer{};
    socklen_t peer_length = sizeof(peer);
    const int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer), &peer_length,
                             SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        LogRefusal(absl::StrCat("admin endpoint: accept: ", std::strerror(errno)), now);
        accept_paused_until_ = now + kTickInterval;
      }
      return;  // EAGAIN, or a connection that failed before it was taken
    }
    auto connection = std::make_unique<Connection>();
    connection->fd = fd;
    connection->peer = FormatSocketAddress(peer);
    connection->accepted = now;
    connection->deadline = now + kRequestTimeout;
    size_t open = 0;
    Connection* oldest = nullptr;
    for (auto& other : connections_) {
      if (other->fd < 0) continue;
      ++open;
      if (!other->answering && (oldest == nullptr || other->accepted < oldest->accepted)) {
        oldest = other.get();
      }
    }
    if (open >= kConnectionsMax) {
      // The oldest incomplete request has had the most time: it makes room for the new one.
      Connection* closed = oldest != nullptr ? oldest : connection.get();
      LogRefusal(absl::StrCat(
                     "admin endpoint: ", kConnectionsMax, " connections open, closed ",
                     closed == connection.get() ? "the new one from " : "the oldest idle one from ",
                     closed->peer),
                 now);
      CloseOne(*closed);
      if (closed == connection.get()) continue;
    }
    connections_.push_back(std::move(connection));
  }
}

void AdminServer::Receive(Connection& connection, Clock::time_point now) {
  char chunk[4096];
  bool line_end = false;
  // Bounded by kRequestBytesMax (+ 1, to see a head too long), then by the head and its
  // body: each round adds bytes or returns.
  const size_t limit = connection.head_complete ? connection.request_bytes : kRequestBytesMax + 1;
  while (connection.received.size() < limit) {
    const size_t room = limit - connection.received.size();
    const ssize_t n = ::recv(connection.fd, chunk, std::min(room, sizeof(chunk)), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n <= 0) {  // closed or reset before the request was complete
      CloseOne(connection);
      return;
    }
    const absl::string_view bytes(chunk, static_cast<size_t>(n));
    line_end = line_end || bytes.find('\n') != absl::string_view::npos;
    connection.received.append(bytes.data(), bytes.size());
  }
  HttpRequestHead head;
  HttpHeadParse parse = HttpHeadParse::kNeedMore;
  // The head is parsed again only when a line ended, its body is coming, or at the limit.
  if (line_end || connection.head_complete || connection.received.size() > kRequestBytesMax) {
    parse = ParseHttpRequestHead(connection.received, &head);
  }
  if (parse == HttpHeadParse::kNeedMore) return;
  if (parse == HttpHeadParse::kError) {
    LogRefusal(absl::StrCat("admin endpoint: bad request from ", connection.peer, ": ", head.error),
               now);
    Answer(connection, {head.error_status, kText, absl::StrCat(head.error, "\n")}, now);
    return;
  }
  if (head.content_length > kBodyBytesMax) {
    Answer(connection,
           {413, kText, absl::StrCat("a request's body is at most ", kBodyBytesMax, " bytes\n")},
           now);
    return;
  }
  connection.request_bytes = head.head_bytes + head.content_length;
  if (connection.received.size() < connection.request_bytes) {
    connection.head_complete = true;  // the body is still coming
    return;
  }
  if (std::optional<AdminRefusal> refusal = access_->Check(head)) {
    LogRefusal(absl::StrCat("admin endpoint: refused ", head.method, " ",
                            head.path().substr(0, 100), " from ", connection.peer, " (",
                            refusal->response.status, "): ", refusal->reason),
               now);
    Answer(connection, refusal->response, now);
    return;
  }
  const absl::string_view body =
      absl::string_view(connection.received).substr(head.head_bytes, head.content_length);
  Answer(connection, handler_(head.method, head.target, body), Clock::now());
}

void AdminServer::Answer(Connection& connection, const HttpResponse& response,
                         Clock::time_point now) {
  CHECK(!connection.answering);
  connection.answer = FrameResponse(response);
  connection.answering = true;
  connection.deadline = now + kResponseTimeout;
  Send(connection);
}

void AdminServer::Send(Connection& connection) {
  // Bounded by the answer's size: each round sends bytes or returns.
  while (connection.sent_bytes < connection.answer.size()) {
    const ssize_t n = ::send(connection.fd, connection.answer.data() + connection.sent_bytes,
                             connection.answer.size() - connection.sent_bytes, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) break;
    connection.sent_bytes += static_cast<size_t>(n);
  }
  // Everything sent (or the peer is gone): FIN after the answer, as HTTP/1.0 ends a body.
  ::shutdown(connection.fd, SHUT_WR);
  CloseOne(connection);
}

void AdminServer::Expire(Clock::time_point now) {
  for (auto& connection : connections_) {
    if (connection->fd < 0 || now < connection->deadline) continue;
    if (connection->answering) {
      LogRefusal(
          absl::StrCat("admin endpoint: ", connection->peer, " did not take its answer within ",
                       kResponseTimeout.count() / 1000, " s; closed"),
          now);
      CloseOne(*connection);
      continue;
    }
    LogRefusal(
        absl::StrCat("admin endpoint: ", connection->peer, " sent no complete request within ",
                     kRequestTimeout.count() / 1000, " s; closed"),
        now);
    // One try, without waiting: the client may be gone or not reading.
    const std::string timeout = FrameResponse({408, kText, "request timeout\n"});
    (void)::send(connection->fd, timeout.data(), timeout.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    CloseOne(*connection);
  }
  std::erase_if(connections_, [](const auto& connection) { return connection->fd < 0; });
}

void AdminServer::CloseOne(Connection& connection) {
  if (connection.fd < 0) return;
  ::close(connection.fd);
  connection.fd = -1;
}

void AdminServer::LogRefusal(const std::string& line, Clock::time_point now) {
  if (last_refusal_log_ != Clock::time_point{} && now - last_refusal_log_ < kRefusalLogInterval) {
    ++refusals_not_logged_;
    return;
  }
  if (refusals_not_logged_ > 0) {
    TERN_LOG(kWarning, "%s (and %d more admin endpoint refusals not logged)", line,
             refusals_not_logged_);
  } else {
    TERN_LOG(kWarning, "%s", line);
  }
  last_refusal_log_ = now;
  refusals_not_logged_ = 0;
}

}  // namespace tern::net
