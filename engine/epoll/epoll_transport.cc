// Implementation of engine/epoll/epoll_transport.h: listeners, connects, adoption.
#include "engine/epoll/epoll_transport.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/check.h"
#include "core/log.h"
#include "core/timer_wheel.h"
#include "engine/epoll/epoll_connection.h"
#include "net/adoptable_socket.h"
#include "net/listen_socket.h"

namespace tern::engine::epoll {
namespace {

// Connections accepted per readiness event of a listener (the rest on the next one).
constexpr int kAcceptsPerEvent = 64;

void SetNoDelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

bool SetNonBlocking(int fd) {
  const int flags = fcntl(fd, F_GETFL);
  return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

// The source port is chosen at connect(), per destination, not at bind(): many connections
// from one source address to different receivers do not use up its ephemeral ports.
void BindAddressNoPort(int fd) {
  const int on = 1;
  (void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof(on));
}

}  // namespace

class EpollTransport::Listener : public EpollLoop::FdHandler {
 public:
  Listener(EpollTransport* transport, int fd, net::AcceptHandler* handler)
      : transport_(transport), fd_(fd), handler_(handler) {}
  ~Listener() override { Stop(); }

  absl::Status Start() {
    if (!SetNonBlocking(fd_)) {
      return absl::InternalError(absl::StrCat("listener O_NONBLOCK: ", strerror(errno)));
    }
    return transport_->loop()->Watch(fd_, EPOLLIN, this);
  }

  // Closing the socket removes it from the SO_REUSEPORT group: new connections go to the
  // other shards (or are refused once every shard stopped).
  void Stop() {
    if (fd_ < 0) return;
    transport_->loop()->Unwatch(fd_);
    close(fd_);
    fd_ = -1;
  }

  void OnEvents(uint32_t) override {
    for (int i = 0; i < kAcceptsPerEvent && fd_ >= 0; ++i) {
      sockaddr_storage peer{};
      socklen_t len = sizeof(peer);
      const int fd =
          accept4(fd_, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
          // EMFILE/ENFILE/ENOBUFS and friends: log, and try again on the next event.
          TERN_LOG(kWarning, "accept failed: %s", strerror(errno));
        }
        return;
      }
      SetNoDelay(fd);
      if (handler_->TakeAcceptedSocket(fd)) continue;  // handed to another shard
      handler_->OnAccept(transport_->AddConnection(fd, peer));
    }
  }

 private:
  EpollTransport* transport_;
  int fd_;
  net::AcceptHandler* handler_;
};

// One outbound connect in flight: watched for EPOLLOUT, bounded by a timer. Reports once,
// from the loop, then frees itself (from a RunSoon call, after the batch).
class EpollTransport::PendingConnect : public EpollLoop::FdHandler, public core::Timer {
 public:
  PendingConnect(EpollTransport* transport, int fd, const net::ConnectRequest& request,
                 net::ConnectHandler* handler)
      : transport_(transport), fd_(fd), request_(request), handler_(handler) {}

  void Start() {
    EpollLoop* loop = transport_->loop();
    const int rc =
        connect(fd_, reinterpret_cast<const sockaddr*>(&request_.to), request_.to_length);
    if (rc == 0 || errno != EINPROGRESS) {
      const int error = rc == 0 ? 0 : errno;
      loop->RunSoon([this, error] { Report(error); });
      return;
    }
    if (!loop->Watch(fd_, EPOLLOUT, this).ok()) {
      const int error = errno;
      loop->RunSoon([this, error] { Report(error); });
      return;
    }
    watched_ = true;
    loop->timers().Arm(this, loop->now() + request_.timeout);
  }

  void OnEvents(uint32_t) override {
    if (reported_) return;
    int error = 0;
    socklen_t len = sizeof(error);
    if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &len) != 0) error = errno;
    Report(error);
  }

  void OnTimer() override {
    if (reported_) return;
    Report(ETIMEDOUT, /*timed_out=*/true);
  }

 private:
  void Report(int error, bool timed_out = false) {
    reported_ = true;
    EpollLoop* loop = transport_->loop();
    loop->timers().Cancel(this);
    if (watched_) loop->Unwatch(fd_);
    watched_ = false;
    if (error == 0) {
      SetNoDelay(fd_);
      handler_->OnConnected(transport_->AddConnection(fd_, request_.to));
    } else {
      close(fd_);
      const std::string peer = net::FormatSocketAddress(request_.to);
      if (timed_out) {
        handler_->OnConnected(absl::DeadlineExceededError(absl::StrCat(
            "connect to ", peer, ": timed out after ", absl::FormatDuration(request_.timeout))));
      } else {
        handler_->OnConnected(
            absl::UnavailableError(absl::StrCat("connect to ", peer, ": ", strerror(error))));
      }
    }
    loop->RunSoon([this] { delete this; });
  }

  EpollTransport* transport_;
  int fd_;
  net::ConnectRequest request_;
  net::ConnectHandler* handler_;
  bool watched_ = false;
  bool reported_ = false;
};

absl::StatusOr<std::unique_ptr<EpollTransport>> EpollTransport::Create(
    EpollLoop* loop, size_t receive_buffer_bytes) {
  if (receive_buffer_bytes == 0) return absl::InvalidArgumentError("receive buffer of 0 bytes");
  std::unique_ptr<EpollTransport> transport(new EpollTransport(loop));
  transport->receive_buffer_.resize(receive_buffer_bytes);
  return transport;
}

EpollTransport::EpollTransport(EpollLoop* loop) : loop_(loop) {}
EpollTransport::~EpollTransport() = default;

absl::Status EpollTransport::Listen(int listen_fd, net::AcceptHandler* handler) {
  listeners_.push_back(std::make_unique<Listener>(this, listen_fd, handler));
  return listeners_.back()->Start();
}

void EpollTransport::StopListening() {
  for (auto& listener : listeners_) listener->Stop();
}

absl::StatusOr<net::Connection*> EpollTransport::Adopt(int fd) {
  absl::StatusOr<sockaddr_storage> peer = net::CheckAdoptableSocket(fd);
  if (!peer.ok()) return peer.status();
  SetNonBlocking(fd);
  return AddConnection(fd, *peer);
}

EpollConnection* EpollTransport::AddConnection(int fd, const sockaddr_storage& peer) {
  const uint64_t id = next_connection_id_++;
  auto connection = std::make_unique<EpollConnection>(this, id, fd, peer);
  EpollConnection* raw = connection.get();
  connections_.emplace(id, std::move(connection));
  return raw;
}

void EpollTransport::Connect(const net::ConnectRequest& request, net::ConnectHandler* handler) {
  int fd = socket(request.to.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  absl::Status failed;
  if (fd < 0) {
    failed = absl::ResourceExhaustedError(absl::StrCat("socket: ", strerror(errno)));
  } else if (request.from.ss_family != AF_UNSPEC &&
             (BindAddressNoPort(fd), bind(fd, reinterpret_cast<const sockaddr*>(&request.from),
                                          request.from_length) != 0)) {
    failed = absl::UnavailableError(absl::StrCat(
        "bind source ", net::FormatSocketAddress(request.from), ": ", strerror(errno)));
    close(fd);
  }
  if (!failed.ok()) {
    // Report from the loop, never inside this call.
    loop_->RunSoon([handler, failed = std::move(failed)]() mutable {
      handler->OnConnected(std::move(failed));
    });
    return;
  }
  (new PendingConnect(this, fd, request, handler))->Start();
}

void EpollTransport::Forget(EpollConnection* connection) {
  auto it = connections_.find(connection->id());
  CHECK(it != connections_.end());
  connections_.erase(it);
}

}  // namespace tern::engine::epoll
