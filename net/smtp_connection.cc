// Implementation of net/smtp_connection.h.
#include "net/smtp_connection.h"

#include "core/check.h"
#include "core/log.h"
#include "net/listen_socket.h"

namespace tern::net {
namespace {
constexpr absl::string_view kTooManyConnections =
    "421 4.7.0 Too many connections from your address, try again later\r\n";
}  // namespace

void SmtpConnection::Accept(SmtpServerContext* context, Connection* connection,
                            Admission admission) {
  auto* self = new SmtpConnection(context, connection, admission);
  self->Start();
}

SmtpConnection::SmtpConnection(SmtpServerContext* context, Connection* connection,
                               Admission admission)
    : context_(context),
      connection_(connection),
      peer_(connection->peer_address()),
      admission_(admission),
      peer_text_(FormatIpAddress(connection->peer_address())) {
  context_->connections.insert(this);
}

SmtpConnection::~SmtpConnection() {
  context_->connections.erase(this);
  if (admission_ == Admission::kCounted) context_->limiter->Release(peer_);
}

void SmtpConnection::Start() {
  connection_->SetHandler(this);
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
  session_ = std::make_unique<smtp::SmtpSession>(context_->session_config, client, sink_.get(),
                                                 context_->counters);
  session_->Start();
  connection_->StartReceiving();
  Flush();
}

void SmtpConnection::ArmDeadline() {
  if (session_ == nullptr || closing_) return;
  context_->loop->timers().Arm(this, context_->loop->now() + session_->current_timeout());
}

void SmtpConnection::OnReceive(absl::string_view bytes) {
  if (closing_ || session_ == nullptr) return;
  session_->Consume(bytes);
  Flush();
}

void SmtpConnection::Flush() {
  if (connection_ == nullptr) return;
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
    } else if (session_->wants_close() && session_->output().empty()) {
      // Replies still waiting for a commit (a pipelined QUIT after end of data) go out
      // first: OnMessageCommitted() flushes again.
      Close();
      return;
    }
  }
  ArmDeadline();
}

void SmtpConnection::OnSendDone(absl::Status status) {
  if (!status.ok()) {
    TERN_LOG(kDebug, "client %s: %s", peer_text_, status.ToString());
    Close();
    return;
  }
  if (admission_ == Admission::kOverLimit) {
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
  if (session_ != nullptr && session_->pending_commits() > 0) return;
  delete this;
}

void SmtpConnection::OnTimer() {
  if (closing_ || session_ == nullptr) return;
  TERN_LOG(kInfo, "client %s: timeout, 421 4.4.2", peer_text_);
  session_->OnTimeout();
  Flush();
}

void SmtpConnection::Shutdown() {
  if (closing_ || connection_ == nullptr) return;
  if (session_ == nullptr) {
    Close();
    return;
  }
  session_->OnShutdown();
  Flush();
}

}  // namespace tern::net
