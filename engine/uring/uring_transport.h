// UringTransport: the io_uring backend of net/transport.h for one shard. Multishot accept
// on each listening socket, multishot recv into a ProvidedBufferRing (an idle connection
// holds no receive buffer), send from the caller's bytes in place, cancel + close through
// the ring; Adopt() wraps a socket another transport released. Falls back to single-shot
// accept/recv when the kernel lacks multishot (the loop logs which it chose).
#pragma once

#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "engine/uring/provided_buffer_ring.h"
#include "engine/uring/uring_loop.h"
#include "net/transport.h"

namespace tern::engine::uring {

struct UringTransportOptions {
  uint32_t receive_buffers = 1024;        // power of two
  uint32_t receive_buffer_bytes = 16384;  // per buffer
};

class UringConnection;

class UringTransport : public net::Transport {
 public:
  static absl::StatusOr<std::unique_ptr<UringTransport>> Create(
      UringLoop* loop, const UringTransportOptions& options);
  ~UringTransport() override;

  absl::Status Listen(int listen_fd, net::AcceptHandler* handler) override;
  void StopListening() override;
  size_t connection_count() const override { return connections_.size(); }
  void Connect(const net::ConnectRequest& request, net::ConnectHandler* handler) override;
  absl::StatusOr<net::Connection*> Adopt(int fd) override;

  // Used by UringConnection.
  UringLoop* loop() { return loop_; }
  ProvidedBufferRing* buffers() { return buffers_.get(); }
  void RearmLater(UringConnection* connection);
  // The connection finished closing or releasing: deletes it.
  void Forget(UringConnection* connection);

 private:
  class Listener;
  class PendingConnect;
  explicit UringTransport(UringLoop* loop);
  void OnIteration();
  void Accepted(Listener* listener, int fd);
  UringConnection* AddConnection(int fd, const sockaddr_storage& peer);

  UringLoop* loop_;
  std::unique_ptr<ProvidedBufferRing> buffers_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  absl::flat_hash_map<uint64_t, std::unique_ptr<UringConnection>> connections_;
  std::vector<uint64_t> rearm_;  // connections whose recv stopped for lack of buffers
  struct FailedConnect {
    net::ConnectHandler* handler;
    absl::Status status;
  };
  std::vector<FailedConnect> failed_connects_;  // reported at the next iteration
  uint64_t next_connection_id_ = 1;
};

}  // namespace tern::engine::uring
