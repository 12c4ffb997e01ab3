// UringConnection: one TCP connection (accepted, connected or adopted) driven by a shard's
// ring (see engine/uring/uring_transport.h). Tracks its in-flight operations so that the socket is
// closed, or handed over by Release(), and the handler told OnClosed() only when the kernel
// holds no reference to it any more.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <memory>

#include "engine/uring/uring_loop.h"
#include "net/transport.h"

namespace tern::engine::uring {

class UringTransport;

class UringConnection : public net::Connection {
 public:
  UringConnection(UringTransport* transport, uint64_t id, int fd, const sockaddr_storage& peer);
  ~UringConnection() override;

  void SetHandler(net::ConnectionHandler* handler) override { handler_ = handler; }
  void StartReceiving() override;
  void SendPieces(std::span<const absl::string_view> pieces) override;
  bool sending() const override { return send_in_flight_; }
  void Close() override;
  void Release(absl::AnyInvocable<void(int fd)> done) override;
  const sockaddr_storage& peer_address() const override { return peer_; }
  uint64_t id() const override { return id_; }

  // Re-arms a receive that stopped because the buffer ring ran dry.
  void Rearm();

 private:
  // Routes a completion to one of the connection's member functions.
  class Op : public core::Completion {
   public:
    using Handler = void (UringConnection::*)(int32_t, uint32_t);
    Op(UringConnection* owner, Handler handler) : owner_(owner), handler_(handler) {}
    void OnComplete(int32_t res, uint32_t flags) override { (owner_->*handler_)(res, flags); }

   private:
    UringConnection* owner_;
    Handler handler_;
  };

  void ArmReceive();
  void SubmitSend();
  // Counts `bytes` of the send in flight as written; true when all of it was.
  bool ConsumeSent(size_t bytes);
  void OnReceiveComplete(int32_t res, uint32_t flags);
  void OnSendComplete(int32_t res, uint32_t flags);
  void OnCancelComplete(int32_t res, uint32_t flags);
  void OnCloseComplete(int32_t res, uint32_t flags);
  void OnHandOverComplete(int32_t res, uint32_t flags);
  void StartClosing();
  void MaybeFinishClose();
  void SubmitClose();
  // Tells the releaser (`fd`, or -1 once closed) and the handler, then deletes this.
  void Finish(int fd);

  UringTransport* transport_;
  uint64_t id_;
  int fd_;
  sockaddr_storage peer_;
  net::ConnectionHandler* handler_ = nullptr;
  Op receive_op_{this, &UringConnection::OnReceiveComplete};
  Op send_op_{this, &UringConnection::OnSendComplete};
  Op cancel_op_{this, &UringConnection::OnCancelComplete};
  Op close_op_{this, &UringConnection::OnCloseComplete};
  Op hand_over_op_{this, &UringConnection::OnHandOverComplete};
  bool receive_armed_ = false;
  bool send_in_flight_ = false;
  bool cancel_in_flight_ = false;
  bool closing_ = false;
  bool close_submitted_ = false;
  bool peer_closed_ = false;
  // The send in flight: one piece (send), or several (sendmsg over gather_'s iovecs, the
  // first `gather_->next` of them written). The iovecs are allocated on the first gathered
  // send, so a connection that only ever sends one piece (an inbound one) does not carry them.
  struct GatherSend {
    msghdr message{};
    iovec pieces[kMaxSendPieces];
    size_t next = 0;
    size_t count = 0;
  };
  absl::string_view send_remaining_;
  std::unique_ptr<GatherSend> gather_;
  bool gather_in_flight_ = false;
  // Release(): who gets the socket, and whether it may still be handed over (false once
  // anything arrived or a send was cut short).
  absl::AnyInvocable<void(int fd)> release_done_;
  bool releasing_ = false;
  bool reusable_ = true;
};

}  // namespace tern::engine::uring
