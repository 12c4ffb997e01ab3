// Implementation of engine/uring/uring_connection.h.
#include "engine/uring/uring_connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/check.h"
#include "core/log.h"
#include "engine/uring/uring_transport.h"

namespace tern::engine::uring {

UringConnection::UringConnection(UringTransport* transport, uint64_t id, int fd,
                                 const sockaddr_storage& peer)
    : transport_(transport), id_(id), fd_(fd), peer_(peer) {}

UringConnection::~UringConnection() {
  CHECK(!receive_armed_);
  CHECK(!send_in_flight_);
}

void UringConnection::StartReceiving() {
  CHECK(handler_ != nullptr);
  ArmReceive();
}

void UringConnection::ArmReceive() {
  if (closing_ || peer_closed_ || receive_armed_) return;
  UringLoop* loop = transport_->loop();
  io_uring_sqe* sqe = loop->PrepareSqe(&receive_op_);
  if (loop->features().multishot_recv) {
    io_uring_prep_recv_multishot(sqe, fd_, nullptr, 0, 0);
  } else {
    io_uring_prep_recv(sqe, fd_, nullptr, 0, 0);
  }
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = transport_->buffers()->group_id();
  receive_armed_ = true;
}

void UringConnection::Rearm() { ArmReceive(); }

void UringConnection::OnReceiveComplete(int32_t res, uint32_t flags) {
  const bool more = (flags & IORING_CQE_F_MORE) != 0;
  if (!more) receive_armed_ = false;
  // Bytes, end of stream or an error after Release(): nobody will read them, so the
  // connection must not be handed over.
  if (releasing_ && res != -ECANCELED && res != -ENOBUFS) reusable_ = false;
  if (res > 0) {
    CHECK(flags & IORING_CQE_F_BUFFER);
    ProvidedBufferRing* buffers = transport_->buffers();
    const uint16_t bid = ProvidedBufferRing::BufferIdOf(flags);
    if (!closing_) handler_->OnReceive(buffers->View(bid, static_cast<size_t>(res)));
    buffers->Return(bid);
    if (!more) ArmReceive();
  } else if (res == -ENOBUFS) {
    transport_->RearmLater(this);
  } else if (res == 0 || res == -ECONNRESET || res == -EPIPE || res == -ETIMEDOUT ||
             res == -EHOSTUNREACH) {
    if (!closing_ && !peer_closed_) {
      peer_closed_ = true;
      handler_->OnPeerClosed(res == 0 ? absl::OkStatus() : absl::UnavailableError(strerror(-res)));
    }
  } else if (res == -ECANCELED) {
    // Close() cancelled it.
  } else if (!closing_ && !peer_closed_) {
    peer_closed_ = true;
    handler_->OnPeerClosed(absl::UnavailableError(absl::StrCat("recv: ", strerror(-res))));
  }
  MaybeFinishClose();
}

void UringConnection::SendPieces(std::span<const absl::string_view> pieces) {
  CHECK(!send_in_flight_);
  CHECK(!pieces.empty());
  CHECK_LE(pieces.size(), kMaxSendPieces);
  if (closing_) return;
  send_in_flight_ = true;
  gather_in_flight_ = pieces.size() > 1;
  if (!gather_in_flight_) {
    CHECK(!pieces[0].empty());
    send_remaining_ = pieces[0];
  } else {
    if (gather_ == nullptr) gather_ = std::make_unique<GatherSend>();
    for (size_t i = 0; i < pieces.size(); ++i) {
      CHECK(!pieces[i].empty());
      gather_->pieces[i].iov_base = const_cast<char*>(pieces[i].data());
      gather_->pieces[i].iov_len = pieces[i].size();
    }
    gather_->next = 0;
    gather_->count = pieces.size();
  }
  SubmitSend();
}

void UringConnection::SubmitSend() {
  io_uring_sqe* sqe = transport_->loop()->PrepareSqe(&send_op_);
  if (!gather_in_flight_) {
    io_uring_prep_send(sqe, fd_, send_remaining_.data(), send_remaining_.size(), MSG_NOSIGNAL);
    return;
  }
  gather_->message = msghdr{};
  gather_->message.msg_iov = gather_->pieces + gather_->next;
  gather_->message.msg_iovlen = gather_->count - gather_->next;
  io_uring_prep_sendmsg(sqe, fd_, &gather_->message, MSG_NOSIGNAL);
}

bool UringConnection::ConsumeSent(size_t bytes) {
  if (!gather_in_flight_) {
    CHECK_LE(bytes, send_remaining_.size());
    send_remaining_.remove_prefix(bytes);
    return send_remaining_.empty();
  }
  while (bytes > 0) {
    CHECK_LT(gather_->next, gather_->count);
    iovec& piece = gather_->pieces[gather_->next];
    const size_t used = bytes < piece.iov_len ? bytes : piece.iov_len;
    piece.iov_base = static_cast<char*>(piece.iov_base) + used;
    piece.iov_len -= used;
    bytes -= used;
    if (piece.iov_len == 0) ++gather_->next;
  }
  return gather_->next == gather_->count;
}

void UringConnection::OnSendComplete(int32_t res, uint32_t flags) {
  CHECK(send_in_flight_);
  if (res > 0 && !ConsumeSent(static_cast<size_t>(res)) && !closing_) {
    SubmitSend();  // a short write: the rest
    return;
  }
  send_in_flight_ = false;
  gather_in_flight_ = false;
  send_remaining_ = {};
  if (!closing_) {
    handler_->OnSendDone(res >= 0 ? absl::OkStatus()
                                  : absl::UnavailableError(absl::StrCat("send: ", strerror(-res))));
  }
  MaybeFinishClose();
}

void UringConnection::Close() {
  if (closing_) return;
  StartClosing();
}

void UringConnection::Release(absl::AnyInvocable<void(int fd)> done) {
  CHECK(done);
  CHECK(!release_done_);  // at most once
  release_done_ = std::move(done);
  if (closing_) return;  // after Close(): done(-1) when the close completes
  releasing_ = true;
  // After the peer closed there is nothing to reuse; a send in flight may be cut short by
  // the cancel, leaving the server in the middle of a command.
  if (peer_closed_ || send_in_flight_) reusable_ = false;
  StartClosing();
}

void UringConnection::StartClosing() {
  closing_ = true;
  if (receive_armed_ || send_in_flight_) {
    io_uring_sqe* sqe = transport_->loop()->PrepareSqe(&cancel_op_);
    io_uring_prep_cancel_fd(sqe, fd_, IORING_ASYNC_CANCEL_ALL);
    cancel_in_flight_ = true;
  }
  MaybeFinishClose();
}

void UringConnection::OnCancelComplete(int32_t res, uint32_t flags) {
  cancel_in_flight_ = false;
  MaybeFinishClose();
}

void UringConnection::MaybeFinishClose() {
  if (!closing_ || close_submitted_) return;
  if (receive_armed_ || send_in_flight_ || cancel_in_flight_) return;
  close_submitted_ = true;
  if (releasing_ && reusable_) {
    // A no-op through the ring, so that the hand-over happens from the loop, never inside
    // Release() or a completion of this connection.
    io_uring_prep_nop(transport_->loop()->PrepareSqe(&hand_over_op_));
  } else {
    SubmitClose();
  }
}

void UringConnection::SubmitClose() {
  io_uring_sqe* sqe = transport_->loop()->PrepareSqe(&close_op_);
  io_uring_prep_close(sqe, fd_);
}

namespace {

// True when nothing is waiting to be read on the socket and the peer has not closed its
// side: the byte stream is where the releaser left it. Never blocks.
bool SocketIsQuiet(int fd) {
  char byte;
  const ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace

void UringConnection::OnHandOverComplete(int32_t res, uint32_t flags) {
  // Unread bytes (a 421, say) or the peer's FIN that came before the cancel took effect.
  if (!SocketIsQuiet(fd_)) {
    reusable_ = false;
    SubmitClose();
    return;
  }
  const int fd = fd_;
  fd_ = -1;
  Finish(fd);
}

void UringConnection::OnCloseComplete(int32_t res, uint32_t flags) {
  fd_ = -1;
  Finish(-1);
}

void UringConnection::Finish(int fd) {
  absl::AnyInvocable<void(int fd)> done = std::move(release_done_);
  net::ConnectionHandler* handler = handler_;
  handler_ = nullptr;
  if (done) done(fd);
  if (handler != nullptr) handler->OnClosed();
  transport_->Forget(this);  // deletes this
}

}  // namespace tern::engine::uring
