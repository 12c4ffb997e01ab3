// Implementation of net/uring_connection.h.
#include "net/uring_connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/check.h"
#include "core/log.h"
#include "net/uring_transport.h"

namespace tern::net {

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
  core::Loop* loop = transport_->loop();
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

void UringConnection::Send(absl::string_view bytes) {
  CHECK(!send_in_flight_);
  CHECK(!bytes.empty());
  if (closing_) return;
  send_remaining_ = bytes;
  send_in_flight_ = true;
  SubmitSend();
}

void UringConnection::SubmitSend() {
  io_uring_sqe* sqe = transport_->loop()->PrepareSqe(&send_op_);
  io_uring_prep_send(sqe, fd_, send_remaining_.data(), send_remaining_.size(), MSG_NOSIGNAL);
}

void UringConnection::OnSendComplete(int32_t res, uint32_t flags) {
  CHECK(send_in_flight_);
  if (res > 0 && static_cast<size_t>(res) < send_remaining_.size() && !closing_) {
    send_remaining_.remove_prefix(static_cast<size_t>(res));
    SubmitSend();
    return;
  }
  send_in_flight_ = false;
  send_remaining_ = {};
  if (!closing_) {
    handler_->OnSendDone(res >= 0 ? absl::OkStatus()
                                  : absl::UnavailableError(absl::StrCat("send: ", strerror(-res))));
  }
  MaybeFinishClose();
}

void UringConnection::Close() {
  if (closing_) return;
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
  io_uring_sqe* sqe = transport_->loop()->PrepareSqe(&close_op_);
  io_uring_prep_close(sqe, fd_);
}

void UringConnection::OnCloseComplete(int32_t res, uint32_t flags) {
  fd_ = -1;
  ConnectionHandler* handler = handler_;
  handler_ = nullptr;
  if (handler != nullptr) handler->OnClosed();
  transport_->Release(this);  // deletes this
}

}  // namespace tern::net
