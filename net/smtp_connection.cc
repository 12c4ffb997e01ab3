// Implementation of net/smtp_connection.h.
#include "net/smtp_connection.h"

#include <algorithm>

#include "core/check.h"
#include "core/log.h"
#include "net/listen_socket.h"

namespace tern::net {
namespace {
constexpr absl::string_view kTooManyConnections =
    "421 4.7.0 Too many connections from your address, try again later\r\n";
// The client's first TLS flight(s) received before TLS was started here; a ClientHello is
// a few KiB.
constexpr size_t kEarlyTlsBytesMax = 64 * 1024;
constexpr absl::string_view kEarlyTalker =
    "554 5.5.0 Error: SMTP protocol synchronization: talked before the greeting\r\n";
}  // namespace

void SmtpConnection::Accept(SmtpServerContext* context, Connection* connection, Admission admission,
                            ListenerKind kind) {
  auto* self = new SmtpConnection(context, connection, admission, kind);
  self->Start();
}

SmtpConnection::SmtpConnection(SmtpServerContext* context, Connection* connection,
                               Admission admission, ListenerKind kind)
    : context_(context),
      connection_(connection),
      peer_(connection->peer_address()),
      admission_(admission),
      kind_(kind),
      peer_text_(FormatIpAddress(connection->peer_address())) {
  context_->connections.insert(this);
}

SmtpConnection::~SmtpConnection() {
  context_->connections.erase(this);
  if (admission_ == Admission::kCounted) context_->limiter->Release(peer_);
}

void SmtpConnection::Start() {
  connection_->SetHandler(this);
  const bool implicit_tls = kind_ == ListenerKind::kSmtps;
  if (implicit_tls && (admission_ == Admission::kOverLimit || !StartTls(false))) {
    if (admission_ == Admission::kOverLimit) {
      TERN_LOG(kWarning, "client %s over --max_connections_per_ip=%d: closed", peer_text_,
               context_->limiter->limit());
    }
    Close();
    return;
  }
  if (admission_ == Admission::kOverLimit) {
    TERN_LOG(kWarning, "client %s over --max_connections_per_ip=%d: 421 4.7.0", peer_text_,
             context_->limiter->limit());
    context_->counters->CountReply(421);
    send_buffer_.assign(kTooManyConnections.data(), kTooManyConnections.size());
    closing_ = true;
    connection_->Send(send_buffer_);
    return;
  }
  sink_ = context_->make_sink(this);
  smtp::ClientInfo client;
  client.address = peer_text_;
  SocketAddress address;
  address.storage = peer_;
  client.port = address.port();
  client.may_relay = context_->relay_policy->ClientMayRelay(peer_);
  client.starttls_offered = context_->tls != nullptr && !implicit_tls;
  client.tls = implicit_tls;
  // Submission ports (587, 465) take mail from authenticated users only, when AUTH is set up.
  const bool submission = kind_ != ListenerKind::kSmtp;
  client.auth_offered = submission && context_->session_config.auth != nullptr;
  client.auth_required = client.auth_offered;
  session_ = std::make_unique<smtp::SmtpSession>(context_->session_config, client, sink_.get(),
                                                 context_->counters);
  session_->set_async_listener([this] { OnMessageCommitted(); });
  if (context_->greet_pause > absl::ZeroDuration() && !implicit_tls) {
    greet_pausing_ = true;
    connection_->StartReceiving();
    context_->loop->timers().Arm(this, context_->loop->now() + context_->greet_pause);
    return;
  }
  session_->Start();
  connection_->StartReceiving();
  Flush();
}

bool SmtpConnection::StartTls(bool already_receiving) {
  absl::StatusOr<std::unique_ptr<tls::TlsEngine>> engine =
      tls::TlsEngine::Create(context_->tls->Get());
  if (!engine.ok()) {
    TERN_LOG(kError, "client %s: cannot start TLS: %s", peer_text_, engine.status().ToString());
    return false;
  }
  tls::TlsWrapOptions options;
  options.already_receiving = already_receiving;
  options.early_ciphertext = early_tls_bytes_;
  options.on_handshake = [this](const tls::TlsEngine& engine, const absl::Status& result) {
    OnHandshake(engine, result);
  };
  tls_ = tls::TlsConnection::Wrap(connection_, *std::move(engine), std::move(options));
  early_tls_bytes_ = std::string();
  connection_ = tls_;
  connection_->SetHandler(this);
  return true;
}

void SmtpConnection::OnHandshake(const tls::TlsEngine& engine, const absl::Status& result) {
  if (!result.ok()) {
    smtp::SmtpCounters::Add(context_->counters->tls_handshake_failures, 1);
    TERN_LOG(kInfo, "client %s: TLS handshake failed: %s", peer_text_, result.message());
    return;
  }
  handshake_done_ = true;
  smtp::SmtpCounters::Add(context_->counters->tls_handshakes, 1);
  TERN_LOG(kDebug, "client %s: TLS established, %s%s", peer_text_, engine.Describe(),
           engine.session_reused() ? " (resumed)" : "");
  ArmDeadline();
}

bool SmtpConnection::waiting_for_tls() const {
  return (session_ != nullptr && session_->wants_tls()) || (tls_ != nullptr && !handshake_done_);
}

void SmtpConnection::ArmDeadline(size_t received) {
  if (session_ == nullptr || closing_) return;
  const absl::Time now = context_->loop->now();
  if (waiting_for_tls()) {
    deadline_ = now + context_->tls_handshake_timeout;
    deadline_requests_ = UINT64_MAX;  // a fresh deadline once TLS is up
  } else {
    const bool body = session_->reading_body();
    const bool new_request =
        session_->requests_completed() != deadline_requests_ || body != deadline_for_body_;
    if (new_request || (body && context_->min_data_rate == 0)) {
      deadline_ = now + session_->current_timeout();
      deadline_requests_ = session_->requests_completed();
      deadline_for_body_ = body;
    } else if (body && received > 0) {
      // Each read buys time in proportion to what it brought, never more than the timeout.
      deadline_ = std::min(deadline_ + absl::Seconds(static_cast<double>(received) /
                                                     static_cast<double>(context_->min_data_rate)),
                           now + session_->current_timeout());
    }
  }
  context_->loop->timers().Arm(this, deadline_);
}

void SmtpConnection::OnReceive(absl::string_view bytes) {
  if (closing_ || session_ == nullptr || early_talker_) return;
  if (greet_pausing_) {
    // RFC 5321 §4.3.1: the client waits for the greeting. Postfix's postscreen calls this
    // "pregreet"; spam engines that do not wait are told so and dropped.
    greet_pausing_ = false;
    early_talker_ = true;
    context_->loop->timers().Cancel(this);
    TERN_LOG(kInfo, "client %s: %d bytes before the greeting (early talker): 554 5.5.0", peer_text_,
             bytes.size());
    context_->counters->CountReply(554);
    send_buffer_.assign(kEarlyTalker.data(), kEarlyTalker.size());
    connection_->Send(send_buffer_);
    return;
  }
  if (session_->wants_tls()) {
    // The 220 to STARTTLS is out (or about to be): this is the client's handshake.
    if (early_tls_bytes_.size() + bytes.size() > kEarlyTlsBytesMax) {
      TERN_LOG(kInfo, "client %s: over %d bytes before the TLS handshake started: closing",
               peer_text_, kEarlyTlsBytesMax);
      Close();
      return;
    }
    early_tls_bytes_.append(bytes.data(), bytes.size());
    return;
  }
  session_->Consume(bytes);
  Flush(bytes.size());
}

void SmtpConnection::Flush(size_t received) {
  if (connection_ == nullptr || greet_pausing_ || early_talker_) return;
  if (session_ != nullptr && session_->output_overflowed()) {
    TERN_LOG(kWarning, "client %s does not read its replies: closing", peer_text_);
    Close();
    return;
  }
  if (!connection_->sending() && session_ != nullptr && !closing_) {
    absl::string_view ready = session_->output().Sendable();
    if (!ready.empty()) {
      send_buffer_.assign(ready.data(), ready.size());
      session_->output().Consume(ready.size());
      connection_->Send(send_buffer_);
    } else if (session_->wants_tls() && session_->output().empty()) {
      // The 220 is on the wire: from here on the client speaks TLS.
      if (!StartTls(/*already_receiving=*/true)) {
        Close();
        return;
      }
      session_->OnTlsStarted();
      connection_->StartReceiving();
      if (closing_ || connection_ == nullptr) return;
    } else if (session_->wants_close() && session_->output().empty()) {
      // Replies still waiting for a commit (a pipelined QUIT after end of data) go out
      // first: OnMessageCommitted() flushes again.
      Close();
      return;
    }
  }
  ArmDeadline(received);
}

void SmtpConnection::OnSendDone(absl::Status status) {
  if (!status.ok()) {
    TERN_LOG(kDebug, "client %s: %s", peer_text_, status.ToString());
    Close();
    return;
  }
  if (admission_ == Admission::kOverLimit || early_talker_) {
    Close();
    return;
  }
  Flush();
}

void SmtpConnection::OnPeerClosed(absl::Status status) {
  peer_closed_ = true;
  Close();
}

void SmtpConnection::Close() {
  if (connection_ == nullptr) return;
  closing_ = true;
  context_->loop->timers().Cancel(this);
  connection_->Close();
}

void SmtpConnection::OnClosed() {
  connection_ = nullptr;
  closed_ = true;
  MaybeDelete();
}

void SmtpConnection::OnMessageCommitted() {
  if (connection_ != nullptr && !closing_) {
    Flush();
  } else {
    MaybeDelete();
  }
}

void SmtpConnection::MaybeDelete() {
  if (!closed_) return;
  if (session_ != nullptr && (session_->pending_commits() > 0 || session_->auth_pending())) return;
  delete this;
}

void SmtpConnection::OnTimer() {
  if (closing_ || session_ == nullptr) return;
  if (greet_pausing_) {  // the client waited: greet it
    greet_pausing_ = false;
    session_->Start();
    Flush();
    return;
  }
  if (waiting_for_tls()) {
    smtp::SmtpCounters::Add(context_->counters->tls_handshake_failures, 1);
    TERN_LOG(kInfo, "client %s: TLS handshake not done within %s: closing", peer_text_,
             absl::FormatDuration(context_->tls_handshake_timeout));
    Close();
    return;
  }
  TERN_LOG(kInfo, "client %s: timeout, 421 4.4.2", peer_text_);
  session_->OnTimeout();
  Flush();
}

void SmtpConnection::Shutdown() {
  if (closing_ || connection_ == nullptr) return;
  if (session_ == nullptr || greet_pausing_ || early_talker_) {
    Close();
    return;
  }
  session_->OnShutdown();
  Flush();
}

}  // namespace tern::net
