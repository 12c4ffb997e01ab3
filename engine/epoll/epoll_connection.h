// EpollConnection: one TCP connection (accepted, connected or adopted) of an EpollTransport.
// Watched for EPOLLIN while receiving and for EPOLLOUT while a send waits for room. Events
// that reach the handler (OnSendDone, OnClosed, the released fd) come from the loop, never
// from inside the call that caused them; the object is freed only from a RunSoon call, after
// the event batch that may still name it.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstdint>
#include <memory>

#include "engine/epoll/epoll_loop.h"
#include "net/transport.h"

namespace tern::engine::epoll {

class EpollTransport;

class EpollConnection : public net::Connection, public EpollLoop::FdHandler {
 public:
  EpollConnection(EpollTransport* transport, uint64_t id, int fd, const sockaddr_storage& peer);
  ~EpollConnection() override;

  void SetHandler(net::ConnectionHandler* handler) override { handler_ = handler; }
  void StartReceiving() override;
  void SendPieces(std::span<const absl::string_view> pieces) override;
  bool sending() const override { return send_in_flight_; }
  void Close() override;
  void Release(absl::AnyInvocable<void(int fd)> done) override;
  const sockaddr_storage& peer_address() const override { return peer_; }
  uint64_t id() const override { return id_; }

  void OnEvents(uint32_t events) override;

 private:
  // Sends what is left; true when all of it went (or the send failed: send_error_ says).
  bool SendSome();
  void Receive();
  void UpdateInterest();
  void SendFinished();
  void StartClosing();
  void MaybeFinishClose();
  void Finish(int fd);

  EpollTransport* transport_;
  uint64_t id_;
  int fd_;
  sockaddr_storage peer_;
  net::ConnectionHandler* handler_ = nullptr;
  bool registered_ = false;
  uint32_t interest_ = 0;
  bool receiving_ = false;
  bool peer_closed_ = false;
  bool send_in_flight_ = false;
  bool send_done_pending_ = false;  // OnSendDone is queued for the loop
  int send_error_ = 0;
  bool closing_ = false;
  bool finish_queued_ = false;
  // The send in flight: `piece_count_` iovecs at `pieces_` (single_, or gather_ allocated on
  // the first gathered send), the first `next_piece_` of them written.
  iovec single_{};
  std::unique_ptr<iovec[]> gather_;
  iovec* pieces_ = &single_;
  size_t next_piece_ = 0;
  size_t piece_count_ = 0;
  absl::AnyInvocable<void(int fd)> release_done_;
  bool releasing_ = false;
  bool reusable_ = true;
};

}  // namespace tern::engine::epoll
