// Implementation of engine/uring/uring_transport.h.
#include "engine/uring/uring_transport.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/check.h"
#include "core/log.h"
#include "engine/uring/uring_connection.h"
#include "net/adoptable_socket.h"
#include "net/listen_socket.h"

namespace tern::engine::uring {
namespace {
constexpr uint16_t kReceiveBufferGroup = 1;
}  // namespace

class UringTransport::Listener : public core::Completion {
 public:
  Listener(UringTransport* transport, int fd, net::AcceptHandler* handler)
      : transport_(transport), fd_(fd), handler_(handler) {}
  ~Listener() override { CloseSocket(); }

  void Arm() {
    if (stopped_ || armed_) return;
    UringLoop* loop = transport_->loop();
    io_uring_sqe* sqe = loop->PrepareSqe(this);
    if (loop->features().multishot_accept) {
      io_uring_prep_multishot_accept(sqe, fd_, nullptr, nullptr, SOCK_CLOEXEC);
    } else {
      io_uring_prep_accept(sqe, fd_, nullptr, nullptr, SOCK_CLOEXEC);
    }
    armed_ = true;
  }

  void Stop() {
    if (stopped_) return;
    stopped_ = true;
    if (armed_) {
      io_uring_sqe* sqe = transport_->loop()->PrepareSqe(nullptr);
      io_uring_prep_cancel(sqe, this, 0);
    } else {
      CloseSocket();
    }
  }

  // Closing the socket removes it from the SO_REUSEPORT group: new connections go to the
  // other shards (or are refused once every shard stopped).
  void CloseSocket() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

  void OnComplete(int32_t res, uint32_t flags) override {
    if ((flags & IORING_CQE_F_MORE) == 0) armed_ = false;
    if (res >= 0) {
      if (stopped_) {
        close(res);
      } else {
        transport_->Accepted(this, res);
      }
    } else if (res != -ECANCELED && res != -EINVAL) {
      // EMFILE/ENFILE/ENOBUFS and friends: log, and try again on the next arm.
      TERN_LOG(kWarning, "accept failed: %s", strerror(-res));
    }
    if (!armed_ && !stopped_) Arm();
    if (!armed_ && stopped_) CloseSocket();
  }

  net::AcceptHandler* handler() { return handler_; }
  bool idle() const { return !armed_; }

 private:
  UringTransport* transport_;
  int fd_;
  net::AcceptHandler* handler_;
  bool armed_ = false;
  bool stopped_ = false;
};

absl::StatusOr<std::unique_ptr<UringTransport>> UringTransport::Create(
    UringLoop* loop, const UringTransportOptions& options) {
  if (!loop->features().provided_buffer_ring) {
    return absl::UnavailableError(
        "this kernel has no io_uring provided buffer rings (needs Linux 5.19+)");
  }
  std::unique_ptr<UringTransport> transport(new UringTransport(loop));
  auto buffers = ProvidedBufferRing::Create(loop->ring(), kReceiveBufferGroup,
                                            options.receive_buffers, options.receive_buffer_bytes);
  if (!buffers.ok()) return buffers.status();
  transport->buffers_ = *std::move(buffers);
  UringTransport* raw = transport.get();
  loop->AddIterationHook([raw] { raw->OnIteration(); });
  return transport;
}

UringTransport::UringTransport(UringLoop* loop) : loop_(loop) {}
UringTransport::~UringTransport() = default;

absl::Status UringTransport::Listen(int listen_fd, net::AcceptHandler* handler) {
  listeners_.push_back(std::make_unique<Listener>(this, listen_fd, handler));
  listeners_.back()->Arm();
  return absl::OkStatus();
}

void UringTransport::StopListening() {
  for (auto& listener : listeners_) listener->Stop();
}

void UringTransport::Accepted(Listener* listener, int fd) {
  sockaddr_storage peer{};
  socklen_t len = sizeof(peer);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0) {
    close(fd);  // already gone
    return;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (listener->handler()->TakeAcceptedSocket(fd)) return;  // handed to another shard
  listener->handler()->OnAccept(AddConnection(fd, peer));
}

absl::StatusOr<net::Connection*> UringTransport::Adopt(int fd) {
  absl::StatusOr<sockaddr_storage> peer = net::CheckAdoptableSocket(fd);
  if (!peer.ok()) return peer.status();
  return AddConnection(fd, *peer);
}

UringConnection* UringTransport::AddConnection(int fd, const sockaddr_storage& peer) {
  const uint64_t id = next_connection_id_++;
  auto connection = std::make_unique<UringConnection>(this, id, fd, peer);
  UringConnection* raw = connection.get();
  connections_.emplace(id, std::move(connection));
  return raw;
}

// One outbound connect in flight: the connect SQE linked to a timeout. Frees itself when
// the connect's CQE arrives (the linked timeout's CQE carries no user data).
class UringTransport::PendingConnect : public core::Completion {
 public:
  PendingConnect(UringTransport* transport, int fd, const net::ConnectRequest& request,
                 net::ConnectHandler* handler)
      : transport_(transport), fd_(fd), request_(request), handler_(handler) {
    timeout_ = absl::ToTimespec(request.timeout).tv_sec >= 0
                   ? __kernel_timespec{absl::ToTimespec(request.timeout).tv_sec,
                                       absl::ToTimespec(request.timeout).tv_nsec}
                   : __kernel_timespec{0, 0};
  }

  void Submit() {
    UringLoop* loop = transport_->loop();
    io_uring_sqe* sqe = loop->PrepareSqe(this);
    io_uring_prep_connect(sqe, fd_, reinterpret_cast<const sockaddr*>(&request_.to),
                          request_.to_length);
    sqe->flags |= IOSQE_IO_LINK;
    io_uring_sqe* timeout = loop->PrepareSqe(nullptr);
    io_uring_prep_link_timeout(timeout, &timeout_, 0);
  }

  void OnComplete(int32_t res, uint32_t flags) override {
    if (res == 0) {
      int one = 1;
      setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      handler_->OnConnected(transport_->AddConnection(fd_, request_.to));
    } else {
      close(fd_);
      const std::string peer = FormatPeer();
      if (res == -ECANCELED || res == -ETIME) {
        handler_->OnConnected(absl::DeadlineExceededError(absl::StrCat(
            "connect to ", peer, ": timed out after ", absl::FormatDuration(request_.timeout))));
      } else {
        handler_->OnConnected(
            absl::UnavailableError(absl::StrCat("connect to ", peer, ": ", strerror(-res))));
      }
    }
    delete this;
  }

 private:
  std::string FormatPeer() const;

  UringTransport* transport_;
  int fd_;
  net::ConnectRequest request_;
  net::ConnectHandler* handler_;
  __kernel_timespec timeout_{};  // must outlive the SQE: lives as long as this object
};

std::string UringTransport::PendingConnect::FormatPeer() const {
  return net::FormatSocketAddress(request_.to);
}

namespace {

// The source port is chosen at connect(), per destination, not at bind(): many connections
// from one source address to different receivers do not use up its ephemeral ports.
void BindAddressNoPort(int fd) {
  const int on = 1;
  (void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof(on));
}

}  // namespace

void UringTransport::Connect(const net::ConnectRequest& request, net::ConnectHandler* handler) {
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
    failed_connects_.push_back({handler, std::move(failed)});
    loop_->WakeSoon();
    return;
  }
  (new PendingConnect(this, fd, request, handler))->Submit();
}

void UringTransport::RearmLater(UringConnection* connection) { rearm_.push_back(connection->id()); }

void UringTransport::OnIteration() {
  if (!failed_connects_.empty()) {
    std::vector<FailedConnect> failed;
    failed.swap(failed_connects_);
    for (FailedConnect& f : failed) f.handler->OnConnected(std::move(f.status));
  }
  if (rearm_.empty()) return;
  std::vector<uint64_t> ids;
  ids.swap(rearm_);
  for (uint64_t id : ids) {
    auto it = connections_.find(id);
    if (it != connections_.end()) it->second->Rearm();
  }
}

void UringTransport::Forget(UringConnection* connection) {
  auto it = connections_.find(connection->id());
  CHECK(it != connections_.end());
  connections_.erase(it);
}

}  // namespace tern::engine::uring
