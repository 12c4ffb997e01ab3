// The transport interface: what SMTP sessions (and later the SMTP client) see of the
// network. A backend (io_uring: engine/uring/uring_transport.h; epoll, or a user-space stack
// later) accepts connections, lends received bytes, sends bytes in place and closes. No
// code above this interface calls liburing.
//
// Ownership: the transport owns each Connection. A ConnectionHandler is attached to a
// connection when it is accepted and gets its events on the shard's thread. After Close()
// the handler receives OnClosed() exactly once, when no operation of the connection is in
// flight any more; from then on the Connection pointer is invalid.
//
// Handing a connection to another shard (DESIGN.md, "Threading"): the owning shard calls
// Release(), which stops the connection's operations without closing the socket and gives
// the caller the bare fd (or -1 when the connection is not reusable); any shard's transport
// then wraps that fd again with Adopt() and drives it on its own ring.
//
//   connection->Release([destination](int fd) { if (fd >= 0) destination->Park({fd, ...}); });
//   ... on another shard:
//   ASSIGN_OR_RETURN(Connection* c, transport->Adopt(parked.fd));
//   c->SetHandler(handler); c->StartReceiving();
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace tern::net {

class ConnectionHandler {
 public:
  virtual ~ConnectionHandler() = default;
  // Bytes received. The view is lent: valid only until this call returns.
  virtual void OnReceive(absl::string_view bytes) = 0;
  // The pending Send() completed (every byte written) or failed.
  virtual void OnSendDone(absl::Status status) = 0;
  // The peer closed its side (OK) or the connection failed. No more OnReceive() follows.
  virtual void OnPeerClosed(absl::Status status) = 0;
  // Close() finished; the handler may free itself. Called exactly once.
  virtual void OnClosed() = 0;
};

class Connection {
 public:
  virtual ~Connection() = default;
  virtual void SetHandler(ConnectionHandler* handler) = 0;
  // Starts receiving (call once, after SetHandler).
  virtual void StartReceiving() = 0;
  // The most pieces one SendPieces() takes (a gathered send of more goes in several).
  static constexpr size_t kMaxSendPieces = 64;
  // Sends `pieces`, in order, as one gathered send (sendmsg with one iovec per piece), in
  // place: the bytes must stay valid and unchanged until OnSendDone(), which comes once
  // every byte of every piece was written. 1..kMaxSendPieces pieces, none empty; the span
  // itself may go away when this returns. One send at a time.
  virtual void SendPieces(std::span<const absl::string_view> pieces) = 0;
  // Sends one piece (see SendPieces).
  void Send(absl::string_view bytes) { SendPieces(std::span<const absl::string_view>(&bytes, 1)); }
  virtual bool sending() const = 0;
  // Cancels what is in flight and closes the socket; OnClosed() follows.
  virtual void Close() = 0;
  // Like Close(), but hands the still-open socket to the caller instead of closing it:
  // receiving and whatever is in flight are cancelled, and once no operation is in flight
  // `done(fd)` runs on the loop's thread (never inside this call); the caller owns `fd` from
  // then on. `done(-1)` instead, the socket closed, when the connection is not reusable:
  // the peer had closed or the connection had failed, a Send() was in flight (its bytes may
  // have gone out in part), or bytes arrived after Release() or were still unread (an idle
  // SMTP connection that receives anything, a 421 say, is dead). OnReceive(), OnSendDone()
  // and OnPeerClosed() are not called after Release(); OnClosed() follows `done` as for
  // Close(). Call at most once; after Close(), `done(-1)` comes when the close completes.
  virtual void Release(absl::AnyInvocable<void(int fd)> done) = 0;
  virtual const sockaddr_storage& peer_address() const = 0;
  virtual uint64_t id() const = 0;
};

// Told about every accepted connection.
class AcceptHandler {
 public:
  virtual ~AcceptHandler() = default;
  // First, the bare accepted socket (TCP_NODELAY set), before the transport wraps it: true
  // takes `fd` (the handler owns it from then on, to hand it to another shard's Adopt(),
  // see net/inbound_balance.h) and OnAccept() does not follow. Every transport calls it.
  virtual bool TakeAcceptedSocket(int fd) { return false; }
  // The handler must SetHandler() and StartReceiving(), or Close() the connection.
  virtual void OnAccept(Connection* connection) = 0;
};

// Told how an outbound Connect() ended.
class ConnectHandler {
 public:
  virtual ~ConnectHandler() = default;
  // The connection (owned by the transport; SetHandler + StartReceiving as for an accepted
  // one), or why it failed: Unavailable (refused, unreachable), DeadlineExceeded (timeout).
  virtual void OnConnected(absl::StatusOr<Connection*> connection) = 0;
};

// Where an outbound connection goes, and from where.
struct ConnectRequest {
  sockaddr_storage to{};
  socklen_t to_length = 0;
  sockaddr_storage from{};  // source address; ss_family AF_UNSPEC: the kernel chooses
  socklen_t from_length = 0;
  absl::Duration timeout = absl::Seconds(30);
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Accepts connections on an already bound, listening socket (owned by the transport
  // from now on).
  virtual absl::Status Listen(int listen_fd, AcceptHandler* handler) = 0;
  // Stops accepting on every listener (graceful shutdown); established connections stay.
  virtual void StopListening() = 0;
  virtual size_t connection_count() const = 0;
  // Wraps an already connected TCP socket (one another transport released, say) as a
  // Connection of this transport; the caller then SetHandler() + StartReceiving() as for an
  // accepted one. The transport owns `fd` from this call on and closes it on error too:
  // InvalidArgument when it is not a stream socket, FailedPrecondition when it is not
  // connected (getpeername fails). Unread bytes already on the socket are received as usual.
  virtual absl::StatusOr<Connection*> Adopt(int fd) = 0;
  // Opens an outbound TCP connection; `handler` hears the result exactly once, later, on the
  // loop's thread (never inside this call), and must stay alive until then.
  virtual void Connect(const ConnectRequest& request, ConnectHandler* handler) = 0;
};

}  // namespace tern::net
