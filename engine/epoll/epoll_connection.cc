// Implementation of engine/epoll/epoll_connection.h.
#include "engine/epoll/epoll_connection.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/check.h"
#include "core/log.h"
#include "engine/epoll/epoll_transport.h"

namespace tern::engine::epoll {
namespace {

// Reads per readiness event, so one busy connection cannot starve the others.
constexpr int kReadsPerEvent = 4;

// True when nothing is waiting to be read on the socket and the peer has not closed its
// side: the byte stream is where the releaser left it. Never blocks.
bool SocketIsQuiet(int fd) {
  char byte;
  const ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace

EpollConnection::EpollConnection(EpollTransport* transport, uint64_t id, int fd,
                                 const sockaddr_storage& peer)
    : transport_(transport), id_(id), fd_(fd), peer_(peer) {}

EpollConnection::~EpollConnection() {
  // Still open when the transport goes (shutdown): nothing is in the kernel's hands.
  if (fd_ >= 0) ::close(fd_);
}

void EpollConnection::UpdateInterest() {
  if (closing_) return;
  uint32_t want = 0;
  if (receiving_ && !peer_closed_) want |= EPOLLIN;
  if (send_in_flight_ && !send_done_pending_) want |= EPOLLOUT;
  if (want == interest_ && registered_) return;
  interest_ = want;
  EpollLoop* loop = transport_->loop();
  if (!registered_) {
    if (want == 0) return;
    registered_ = loop->Watch(fd_, want, this).ok();
    return;
  }
  (void)loop->Modify(fd_, want, this);
}

void EpollConnection::StartReceiving() {
  CHECK(handler_ != nullptr);
  receiving_ = true;
  UpdateInterest();
}

void EpollConnection::OnEvents(uint32_t events) {
  if (closing_) return;  // named by this batch after it was unwatched
  if ((events & EPOLLOUT) && send_in_flight_ && !send_done_pending_) {
    if (SendSome()) SendFinished();
    if (closing_) return;
  }
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
    if (receiving_ && !peer_closed_) {
      Receive();
    } else if ((events & (EPOLLHUP | EPOLLERR)) && !(send_in_flight_ && !send_done_pending_)) {
      // Nobody reads and nothing is sent: stop the level-triggered hang-up from spinning.
      transport_->loop()->Unwatch(fd_);
      registered_ = false;
      interest_ = 0;
      return;
    }
  }
  UpdateInterest();
}

void EpollConnection::Receive() {
  for (int i = 0; i < kReadsPerEvent && !closing_ && !peer_closed_; ++i) {
    const ssize_t n =
        recv(fd_, transport_->receive_buffer(), transport_->receive_buffer_bytes(), MSG_DONTWAIT);
    if (n > 0) {
      handler_->OnReceive(absl::string_view(transport_->receive_buffer(), static_cast<size_t>(n)));
      if (static_cast<size_t>(n) < transport_->receive_buffer_bytes()) return;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n < 0 && errno == EINTR) continue;
    peer_closed_ = true;
    handler_->OnPeerClosed(n == 0
                               ? absl::OkStatus()
                               : absl::UnavailableError(absl::StrCat("recv: ", strerror(errno))));
    return;
  }
}

void EpollConnection::SendPieces(std::span<const absl::string_view> pieces) {
  CHECK(!send_in_flight_);
  CHECK(!pieces.empty());
  CHECK_LE(pieces.size(), kMaxSendPieces);
  if (closing_) return;
  if (pieces.size() == 1) {
    pieces_ = &single_;
  } else {
    if (gather_ == nullptr) gather_ = std::make_unique<iovec[]>(kMaxSendPieces);
    pieces_ = gather_.get();
  }
  for (size_t i = 0; i < pieces.size(); ++i) {
    CHECK(!pieces[i].empty());
    pieces_[i].iov_base = const_cast<char*>(pieces[i].data());
    pieces_[i].iov_len = pieces[i].size();
  }
  next_piece_ = 0;
  piece_count_ = pieces.size();
  send_in_flight_ = true;
  send_error_ = 0;
  // Try at once (the socket buffer usually has room); OnSendDone comes from the loop.
  if (SendSome()) {
    SendFinished();
  } else {
    UpdateInterest();
  }
}

bool EpollConnection::SendSome() {
  while (next_piece_ < piece_count_) {
    msghdr message{};
    message.msg_iov = pieces_ + next_piece_;
    message.msg_iovlen = piece_count_ - next_piece_;
    const ssize_t n = sendmsg(fd_, &message, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
      send_error_ = errno;
      return true;
    }
    size_t left = static_cast<size_t>(n);
    while (left > 0 && next_piece_ < piece_count_) {
      iovec& piece = pieces_[next_piece_];
      const size_t used = left < piece.iov_len ? left : piece.iov_len;
      piece.iov_base = static_cast<char*>(piece.iov_base) + used;
      piece.iov_len -= used;
      left -= used;
      if (piece.iov_len == 0) ++next_piece_;
    }
  }
  return true;
}

void EpollConnection::SendFinished() {
  // Reported from the loop: never inside SendPieces(), as on every engine.
  send_done_pending_ = true;
  transport_->loop()->RunSoon([this] {
    send_done_pending_ = false;
    send_in_flight_ = false;
    const int error = send_error_;
    if (!closing_) {
      handler_->OnSendDone(error == 0
                               ? absl::OkStatus()
                               : absl::UnavailableError(absl::StrCat("send: ", strerror(error))));
    }
    if (closing_) {
      MaybeFinishClose();
    } else {
      UpdateInterest();
    }
  });
}

void EpollConnection::Close() {
  if (closing_) return;
  StartClosing();
}

void EpollConnection::Release(absl::AnyInvocable<void(int fd)> done) {
  CHECK(done);
  CHECK(!release_done_);  // at most once
  release_done_ = std::move(done);
  if (closing_) return;  // after Close(): done(-1) when the close completes
  releasing_ = true;
  // After the peer closed there is nothing to reuse; a send in flight is cut short.
  if (peer_closed_ || send_in_flight_) reusable_ = false;
  StartClosing();
}

void EpollConnection::StartClosing() {
  closing_ = true;
  if (registered_) transport_->loop()->Unwatch(fd_);
  registered_ = false;
  // A send waiting for room is abandoned (nothing of it is in the kernel's hands).
  if (send_in_flight_ && !send_done_pending_) send_in_flight_ = false;
  MaybeFinishClose();
}

void EpollConnection::MaybeFinishClose() {
  if (!closing_ || finish_queued_ || send_in_flight_) return;
  finish_queued_ = true;
  // From the loop, never inside Close()/Release() or a handler call of this connection.
  transport_->loop()->RunSoon([this] {
    if (releasing_ && reusable_ && SocketIsQuiet(fd_)) {
      const int fd = fd_;
      fd_ = -1;
      return Finish(fd);
    }
    ::close(fd_);
    fd_ = -1;
    Finish(-1);
  });
}

void EpollConnection::Finish(int fd) {
  absl::AnyInvocable<void(int fd)> done = std::move(release_done_);
  net::ConnectionHandler* handler = handler_;
  handler_ = nullptr;
  if (done) done(fd);
  if (handler != nullptr) handler->OnClosed();
  transport_->Forget(this);  // deletes this
}

}  // namespace tern::engine::epoll
