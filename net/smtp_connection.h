// SmtpConnection: ties one accepted connection (net/transport.h) to one SmtpSession
// (net/smtp/session.h). It feeds received bytes to the session, sends the session's replies
// (one send per burst), keeps the session's idle and per-command deadline on the loop's
// timer wheel, and frees itself once the socket is closed and no message of the session is
// still waiting for its fdatasync.
//
// TLS: on a port with implicit TLS (465) the connection is wrapped in a TlsConnection before
// the greeting; elsewhere, when a certificate is configured, STARTTLS is offered, and once
// the session's "220 Ready to start TLS" is sent the same socket is wrapped. Bytes that
// arrive after that 220 was handed to the socket are the client's handshake and go to TLS;
// bytes pipelined behind STARTTLS in the same read never reach the session (see
// net/smtp/session.h). Until the handshake completes, context->tls_handshake_timeout
// applies; when it expires the connection is closed without a reply.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "core/loop.h"
#include "core/timer_wheel.h"
#include "net/connection_limiter.h"
#include "net/smtp/message_sink.h"
#include "net/smtp/relay_policy.h"
#include "net/smtp/session.h"
#include "net/smtp/smtp_counters.h"
#include "net/tls/tls_connection.h"
#include "net/tls/tls_context_slot.h"
#include "net/transport.h"

namespace tern::net {

class SmtpConnection;

// Told after a sink delivered a CommitWaiter::OnCommitted, so the reply can be sent. The
// listener may free itself (and the sink) inside OnMessageCommitted(): the sink must not
// touch itself after calling it.
class CommitListener {
 public:
  virtual ~CommitListener() = default;
  virtual void OnMessageCommitted() = 0;
};

// What all SMTP connections of one shard share.
struct SmtpServerContext {
  core::Loop* loop = nullptr;
  smtp::SessionConfig session_config;
  const smtp::RelayPolicy* relay_policy = nullptr;
  smtp::SmtpCounters* counters = nullptr;
  ConnectionLimiter* limiter = nullptr;
  // Makes the sink a connection's session uses (see CommitListener).
  std::function<std::unique_ptr<smtp::MessageSink>(CommitListener* listener)> make_sink;
  absl::flat_hash_set<SmtpConnection*> connections;  // this shard's live sessions
  // The server certificate (null: no TLS; STARTTLS is not offered, port 465 is not open).
  const tls::TlsContextSlot* tls = nullptr;
  absl::Duration tls_handshake_timeout = absl::Seconds(30);
  // Before the greeting (ports without implicit TLS): a client that sends anything during
  // this pause is an early talker (a spam engine not waiting for the server): 554 5.5.0,
  // closed. Zero: greet at once.
  absl::Duration greet_pause = absl::ZeroDuration();
  // Bytes per second a message body must keep up (Postfix's smtpd_min_data_rate): each
  // read of a body extends its deadline by bytes / rate, starting from --data_timeout. 0:
  // any progress re-arms the whole --data_timeout.
  uint64_t min_data_rate = 0;
};

// What a listening port is for.
enum class ListenerKind {
  kSmtp,        // port 25 (or --listen): STARTTLS offered when TLS is configured
  kSubmission,  // port 587: likewise (authenticated submission, RFC 6409)
  kSmtps,       // port 465: TLS from the first byte (RFC 8314 §3.3)
};

class SmtpConnection : public ConnectionHandler, public core::Timer, public CommitListener {
 public:
  // How the client stands against --max_connections_per_ip.
  enum class Admission {
    kExempt,     // not counted (e.g. a client allowed to relay)
    kCounted,    // holds one count in the limiter, released when the connection ends
    kOverLimit,  // only gets 421 4.7.0 and is closed
  };
  // Takes over `connection`.
  static void Accept(SmtpServerContext* context, Connection* connection, Admission admission,
                     ListenerKind kind = ListenerKind::kSmtp);
  // Graceful shutdown: answers 421 4.3.2 and closes once that is sent.
  void Shutdown();

  void OnReceive(absl::string_view bytes) override;
  void OnSendDone(absl::Status status) override;
  void OnPeerClosed(absl::Status status) override;
  void OnClosed() override;
  void OnTimer() override;
  void OnMessageCommitted() override;

 private:
  SmtpConnection(SmtpServerContext* context, Connection* connection, Admission admission,
                 ListenerKind kind);
  ~SmtpConnection() override;
  void Start();
  // Wraps connection_ in TLS (implicit, or after STARTTLS's 220 was sent).
  bool StartTls(bool already_receiving);
  void OnHandshake(const tls::TlsEngine& engine, const absl::Status& result);
  // Deadlines are per request (RFC 5321 §4.5.3.2 style, as Postfix's
  // smtpd_per_request_deadline): a command line must be complete within --idle_timeout of
  // the previous request's end, whatever trickles in meanwhile; a body within
  // --data_timeout plus its bytes / min_data_rate. `received` is what the last read brought.
  void ArmDeadline(size_t received = 0);
  // STARTTLS accepted and TLS not started yet, or the handshake not done.
  bool waiting_for_tls() const;
  // Sends what the session queued; `received`: bytes of the read that led here (deadline).
  void Flush(size_t received = 0);
  void Close();
  void MaybeDelete();

  SmtpServerContext* context_;
  Connection* connection_;
  const sockaddr_storage peer_;
  const Admission admission_;
  const ListenerKind kind_;
  std::string peer_text_;
  std::unique_ptr<smtp::MessageSink> sink_;
  std::unique_ptr<smtp::SmtpSession> session_;
  std::string send_buffer_;  // replies in flight (the session keeps appending to its own)
  bool closing_ = false;
  bool closed_ = false;
  bool peer_closed_ = false;
  tls::TlsConnection* tls_ = nullptr;  // connection_ once TLS was started
  bool handshake_done_ = false;
  bool greet_pausing_ = false;  // --greet_pause running: the session has not started
  bool early_talker_ = false;   // answered 554 5.5.0: close once that is sent
  absl::Time deadline_ = absl::InfinitePast();  // of the request being received
  uint64_t deadline_requests_ = UINT64_MAX;     // session's requests_completed() then
  bool deadline_for_body_ = false;
  // Ciphertext the client sent after STARTTLS's 220 went out, before TLS was started here.
  std::string early_tls_bytes_;
};

}  // namespace tern::net
