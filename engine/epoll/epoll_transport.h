// EpollTransport: net/transport.h on an EpollLoop. Listeners and connections are watched
// for readiness (level-triggered); a readable listener is drained with accept4, a readable
// connection reads into the shard's one receive buffer (lent to the handler for the
// duration of OnReceive: the view never outlives the call, so one buffer serves every
// connection), a send goes out with send/sendmsg at once and waits for EPOLLOUT only when
// the socket buffer is full. Connect is a non-blocking connect() watched for EPOLLOUT,
// bounded by a timer. Release/Adopt as net/transport.h documents.
//
//   ASSIGN_OR_RETURN(auto transport, EpollTransport::Create(loop, {.receive_buffer_bytes =
//   16384}));
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "engine/epoll/epoll_loop.h"
#include "net/transport.h"

namespace tern::engine::epoll {

class EpollConnection;

class EpollTransport : public net::Transport {
 public:
  static absl::StatusOr<std::unique_ptr<EpollTransport>> Create(EpollLoop* loop,
                                                                size_t receive_buffer_bytes);
  ~EpollTransport() override;

  absl::Status Listen(int listen_fd, net::AcceptHandler* handler) override;
  void StopListening() override;
  size_t connection_count() const override { return connections_.size(); }
  void Connect(const net::ConnectRequest& request, net::ConnectHandler* handler) override;
  absl::StatusOr<net::Connection*> Adopt(int fd) override;

  // Used by EpollConnection.
  EpollLoop* loop() { return loop_; }
  // The receive buffer every connection reads into (valid during one OnReceive).
  char* receive_buffer() { return receive_buffer_.data(); }
  size_t receive_buffer_bytes() const { return receive_buffer_.size(); }
  // The connection finished closing or releasing: deletes it (from a RunSoon call).
  void Forget(EpollConnection* connection);
  EpollConnection* AddConnection(int fd, const sockaddr_storage& peer);

 private:
  class Listener;
  class PendingConnect;
  explicit EpollTransport(EpollLoop* loop);

  EpollLoop* loop_;
  std::vector<char> receive_buffer_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  absl::flat_hash_map<uint64_t, std::unique_ptr<EpollConnection>> connections_;
  uint64_t next_connection_id_ = 1;
};

}  // namespace tern::engine::epoll
