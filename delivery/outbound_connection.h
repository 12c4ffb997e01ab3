// OutboundConnection: one outbound SMTP connection of a shard's delivery agent. It opens the
// TCP connection through the transport (or continues one another shard parked), feeds the
// bytes to an net::smtp::SmtpClientSession, sends what the session queues, keeps the session's
// RFC 5321 timeouts on the loop's timer wheel, and holds the spooled message whose stored
// bytes are being sent until no send uses them any more.
//
// The owner (the delivery agent) decides what to send: it hears OnConnectionReady() when
// the session can take a transaction, calls Send() (then OnTransactionDone() follows) or
// Quit(), and hears OnConnectionGone() exactly once, as the last callback, after which it
// may destroy the connection (not before). With a server that offers PIPELINING, the owner
// also hears OnConnectionCanPipeline() once a transaction is all on the wire (not from
// inside Send()): a Send() then pipelines the next transaction behind it (net/smtp/
// client_session.h), and the results come in the order of the Send() calls.
//
//   auto* c = new OutboundConnection(loop, transport, client_config, &owner, &counters);
//   c->Connect(request);
//   owner.OnConnectionReady(c) { c->Send(std::move(loaded), message); }
//
// STARTTLS (set_tls() before Connect()): when the session asks for it, the socket is
// wrapped in a net::tls::TlsConnection (SNI: host_name; the destination's last TLS session
// offered for resumption, and the new one saved there). A failed handshake fails the
// connection; under the opportunistic policy the destination is then marked so that the
// next connections go in plaintext for a while.
//
// An idle connection can be parked in the shared net::DestinationPools (Park(): the socket
// and the EHLO capabilities, for any shard), and continued by another OutboundConnection,
// constructed with those capabilities, with Resume(parked).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "core/loop.h"
#include "core/timer_wheel.h"
#include "net/destination_pool.h"
#include "net/smtp/client_session.h"
#include "net/tls/tls_connection.h"
#include "net/tls/tls_context.h"
#include "net/transport.h"
#include "spool/loaded_message.h"

namespace tern::delivery {

class OutboundConnection;

class OutboundConnectionOwner {
 public:
  virtual ~OutboundConnectionOwner() = default;
  // The session is ready for Send() or Quit() (after EHLO, and after each transaction).
  virtual void OnConnectionReady(OutboundConnection* connection) = 0;
  // The result of the oldest transaction in flight (begun by Send()).
  virtual void OnTransactionDone(OutboundConnection* connection,
                                 const net::smtp::TransactionResult& result) = 0;
  // Send() may pipeline the next transaction behind the one in flight (can_send()). Once
  // per transaction; an owner with nothing to send lets it pass (OnConnectionReady()
  // follows the end of the one in flight).
  virtual void OnConnectionCanPipeline(OutboundConnection* connection) {}
  // The connection is closed (QUIT done, failed, or never opened). Last callback.
  virtual void OnConnectionGone(OutboundConnection* connection) = 0;
};

class OutboundConnection final : public net::ConnectHandler,
                                 public net::ConnectionHandler,
                                 public net::smtp::ClientSessionHandler,
                                 public core::Timer {
 public:
  OutboundConnection(core::Loop* loop, net::Transport* transport,
                     const net::smtp::ClientConfig& config, OutboundConnectionOwner* owner,
                     net::smtp::ClientCounters* counters);
  // For a parked connection: its session starts ready with `capabilities`.
  OutboundConnection(core::Loop* loop, net::Transport* transport,
                     const net::smtp::ClientConfig& config, OutboundConnectionOwner* owner,
                     net::smtp::ClientCounters* counters,
                     const net::smtp::ServerCapabilities& capabilities);
  ~OutboundConnection() override;
  OutboundConnection(const OutboundConnection&) = delete;
  OutboundConnection& operator=(const OutboundConnection&) = delete;

  // Opens the TCP connection; the greeting and EHLO follow.
  void Connect(const net::ConnectRequest& request);
  // Continues a parked connection (construct with its capabilities): adopts its socket and
  // calls OnConnectionReady() from inside. On error (the socket is closed) nothing else
  // follows: the owner destroys the connection at once.
  absl::Status Resume(net::ParkedConnection parked);
  // An idle, ready connection leaves for the shared pool of its destination (set by the
  // owner): the socket is released and parked for any shard (or closed, when the pool does
  // not take it), then OnConnectionGone() follows.
  void Park();

  // Begins a transaction with `message` (its body must be `loaded`'s stored body). Only
  // when can_send(). The loaded message is kept until its transaction is done and its
  // bytes are sent.
  absl::Status Send(std::shared_ptr<const spool::LoadedMessage> loaded,
                    const net::smtp::OutboundMessage& message);
  // Ends the connection politely (QUIT), or at once when not established.
  void Quit();
  // Ends the connection at once (shutdown after the grace period).
  void Abort();

  // STARTTLS for a new connection: the client context and the policy (before Connect()).
  void set_tls(std::shared_ptr<const net::tls::TlsContext> context,
               net::smtp::StartTlsPolicy policy);
  bool tls_active() const { return session_.tls_active(); }
  // How long an opportunistic destination whose handshake failed gets plaintext.
  static constexpr absl::Duration kTlsBrokenFor = absl::Minutes(30);
  // How long a destination that refused a pipelined MAIL (503) gets no more of them.
  static constexpr absl::Duration kPipeliningRefusedFor = absl::Hours(1);

  // The shared pool entry this connection counts against (set by the owner).
  // The destination whose slot (counted for `shard`) this connection holds.
  // A destination known to refuse transactions pipelined behind the end of data gets none.
  void set_destination(std::shared_ptr<net::Destination> d, uint32_t shard);
  const std::shared_ptr<net::Destination>& destination() const { return destination_; }
  // What the owner wants to remember about it.
  void* owner_data = nullptr;
  std::string host_name;  // the MX host name (or the route's host) for logs
  std::string address;    // "ip:port"

  bool ready() const { return session_.ready(); }
  // Send() is possible now: ready(), or a next transaction can be pipelined.
  bool can_send() const { return session_.ready() || session_.can_pipeline(); }
  // Transactions sent and not reported yet (0 to 2).
  size_t transactions_in_flight() const { return session_.transactions_in_flight(); }
  // The server offered DSN (RFC 3461) in its EHLO reply.
  bool server_offers_dsn() const { return session_.capabilities().dsn; }
  // Transactions begun on this connection (also by an earlier shard, when resumed).
  uint32_t transactions() const { return transactions_; }
  bool ever_ready() const { return ever_ready_; }
  // Why it failed (OK when it ended with QUIT or was never used).
  const absl::Status& failure() const { return failure_; }
  // The enhanced code of a connection failure the session diagnosed ("4.7.10": TLS required
  // and not offered; "4.7.5": the TLS handshake failed), else "".
  std::string security_failure_code() const {
    const net::smtp::EnhancedCode& code = session_.failure_enhanced();
    return code.subject == 7 ? code.ToString() : std::string();
  }
  absl::Time idle_since() const { return idle_since_; }

  // Timer: the session's current wait expired.
  void OnTimer() override;

 private:
  // net::ConnectHandler
  void OnConnected(absl::StatusOr<net::Connection*> connection) override;
  // net::ConnectionHandler
  void OnReceive(absl::string_view bytes) override;
  void OnSendDone(absl::Status status) override;
  void OnPeerClosed(absl::Status status) override;
  void OnClosed() override;
  // net::smtp::ClientSessionHandler
  void OnReady() override;
  void OnTransactionDone(const net::smtp::TransactionResult& result) override;
  void OnCanPipeline() override { pipeline_offer_ = true; }
  void OnConnectionFailed(const absl::Status& status, const net::smtp::ServerReply* reply) override;

  // Sends what the session queued, re-arms the timer, closes when the session is done.
  void Pump();
  // Sends every pending range the transport takes at once: one gathered send for a
  // transaction's commands, the message and its terminator.
  void SendPending(const net::smtp::ClientOutput& output);
  void StartTls();
  void OnTlsHandshake(const net::tls::TlsEngine& engine, const absl::Status& result);
  // Offers this connection's TLS session to the destination's next connections (once).
  void SaveTlsSession();
  void CloseNow();
  void Gone();

  core::Loop* loop_;
  net::Transport* transport_;
  OutboundConnectionOwner* owner_;
  net::smtp::ClientCounters* counters_;
  net::smtp::SmtpClientSession session_;
  std::shared_ptr<const net::tls::TlsContext> tls_context_;
  net::tls::TlsConnection* tls_ = nullptr;  // connection_ once STARTTLS ran
  bool tls_session_saved_ = false;
  net::smtp::StartTlsPolicy starttls_ = net::smtp::StartTlsPolicy::kNever;
  net::Connection* connection_ = nullptr;
  std::shared_ptr<net::Destination> destination_;
  uint32_t shard_ = 0;
  bool connecting_ = false;
  bool closing_ = false;
  bool gone_ = false;
  bool abort_on_connect_ = false;
  bool parked_ = false;  // the socket went to the pool, still counted there
  bool ever_ready_ = false;
  size_t send_bytes_ = 0;  // of the send in flight
  std::string send_copy_;  // the command bytes of the send in flight, one after the other
  uint32_t transactions_ = 0;
  absl::Status failure_;
  absl::Time idle_since_ = absl::InfinitePast();
  bool in_send_ = false;         // inside Send(): no owner callback from Pump()
  bool pipeline_offer_ = false;  // the session can pipeline: tell the owner from Pump()
  // The messages of the transactions in flight, oldest first (shared by the attempt's
  // jobs), and those of finished transactions while their bytes may still be queued or in
  // flight.
  std::deque<std::shared_ptr<const spool::LoadedMessage>> in_flight_messages_;
  std::vector<std::shared_ptr<const spool::LoadedMessage>> done_messages_;
};

}  // namespace tern::delivery
