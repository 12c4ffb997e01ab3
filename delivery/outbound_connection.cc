// Implementation of delivery/outbound_connection.h.
#include "delivery/outbound_connection.h"

#include <unistd.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/check.h"

namespace tern::delivery {

OutboundConnection::OutboundConnection(core::Loop* loop, net::Transport* transport,
                                       const net::smtp::ClientConfig& config,
                                       OutboundConnectionOwner* owner,
                                       net::smtp::ClientCounters* counters)
    : loop_(loop),
      transport_(transport),
      owner_(owner),
      counters_(counters),
      session_(config, this, counters) {}

OutboundConnection::OutboundConnection(core::Loop* loop, net::Transport* transport,
                                       const net::smtp::ClientConfig& config,
                                       OutboundConnectionOwner* owner,
                                       net::smtp::ClientCounters* counters,
                                       const net::smtp::ServerCapabilities& capabilities)
    : loop_(loop),
      transport_(transport),
      owner_(owner),
      counters_(counters),
      session_(config, this, counters, capabilities) {}

void OutboundConnection::set_tls(std::shared_ptr<const net::tls::TlsContext> context,
                                 net::smtp::StartTlsPolicy policy) {
  tls_context_ = std::move(context);
  starttls_ = tls_context_ == nullptr ? net::smtp::StartTlsPolicy::kNever : policy;
  session_.set_starttls(starttls_);
}

OutboundConnection::~OutboundConnection() {
  // The owner destroys a connection only after OnConnectionGone() (or a failed Resume()):
  // nothing is in flight.
  DCHECK(gone_ || (!connecting_ && connection_ == nullptr));
  if (destination_ != nullptr && !parked_) destination_->ConnectionClosed(shard_);
}

absl::Status OutboundConnection::Resume(net::ParkedConnection parked) {
  CHECK(!connecting_ && connection_ == nullptr && !gone_);
  absl::StatusOr<net::Connection*> adopted = transport_->Adopt(parked.fd);
  if (!adopted.ok()) return adopted.status();
  connection_ = *adopted;
  if (parked.tls != nullptr) {
    // The TLS session goes on where the parking shard left it (nothing was buffered).
    tls_ = net::tls::TlsConnection::Wrap(connection_, std::move(parked.tls), {});
    connection_ = tls_;
    session_.set_tls_active();
  }
  connection_->SetHandler(this);
  connection_->StartReceiving();
  transactions_ = parked.messages_sent;
  // OnReady() -> the owner, from inside.
  absl::Status resumed = session_.Resume();
  if (!resumed.ok()) {
    failure_ = resumed;
    CloseNow();  // OnConnectionGone() follows from the loop
  }
  return absl::OkStatus();
}

void OutboundConnection::Park() {
  if (connection_ == nullptr || closing_ || !session_.ready() || connection_->sending() ||
      !session_.output().empty() || destination_ == nullptr) {
    Quit();
    return;
  }
  closing_ = true;
  loop_->timers().Cancel(this);
  net::ParkedConnection parked{.messages_sent = transactions_,
                               .capabilities = session_.capabilities().Serialize()};
  auto park = [this](net::ParkedConnection parked, int fd) {
    if (fd < 0) return;  // not reusable: closed; counted out by the destructor
    parked.fd = fd;
    parked.parked_at = absl::Now();
    if (destination_->Park(std::move(parked), shard_)) {
      parked_ = true;  // the pool keeps it counted until it is taken or expires
    } else {
      ::close(fd);  // over the pool's bounds: the destructor counts it out
    }
  };
  if (tls_ != nullptr) {
    tls_->ReleaseWithEngine([park, parked = std::move(parked)](
                                int fd, std::unique_ptr<net::tls::TlsEngine> engine) mutable {
      parked.tls = std::move(engine);
      park(std::move(parked), fd);
    });
    return;
  }
  connection_->Release(
      [park, parked = std::move(parked)](int fd) mutable { park(std::move(parked), fd); });
}

void OutboundConnection::set_destination(std::shared_ptr<net::Destination> d, uint32_t shard) {
  destination_ = std::move(d);
  shard_ = shard;
  if (destination_ != nullptr && destination_->PipeliningRefused(absl::Now())) {
    session_.DisableTransactionPipelining();
  }
}

void OutboundConnection::Connect(const net::ConnectRequest& request) {
  CHECK(!connecting_ && connection_ == nullptr && !gone_);
  connecting_ = true;
  transport_->Connect(request, this);
}

void OutboundConnection::OnConnected(absl::StatusOr<net::Connection*> connection) {
  connecting_ = false;
  if (!connection.ok()) {
    failure_ = connection.status();
    Gone();
    return;
  }
  connection_ = *connection;
  connection_->SetHandler(this);
  connection_->StartReceiving();
  if (abort_on_connect_) {
    CloseNow();
    return;
  }
  Pump();  // arms the greeting timeout
}

absl::Status OutboundConnection::Send(std::shared_ptr<const spool::LoadedMessage> loaded,
                                      const net::smtp::OutboundMessage& message) {
  CHECK(loaded != nullptr);
  if (connection_ == nullptr || closing_) {
    return absl::FailedPreconditionError("connection is not open");
  }
  in_flight_messages_.push_back(std::move(loaded));
  ++transactions_;
  const bool outer_send = std::exchange(in_send_, true);  // Send() from a callback of Send()
  absl::Status started = session_.StartTransaction(message);
  if (!started.ok()) {
    --transactions_;
    in_flight_messages_.pop_back();
    in_send_ = outer_send;
    return started;
  }
  // All of it queued at once (BDAT): the owner hears it once this send is done.
  if (session_.can_pipeline()) pipeline_offer_ = true;
  Pump();
  in_send_ = outer_send;
  return absl::OkStatus();
}

void OutboundConnection::Quit() {
  if (connection_ == nullptr) {
    abort_on_connect_ = true;
    return;
  }
  if (!session_.Quit().ok()) {
    CloseNow();
    return;
  }
  Pump();
}

void OutboundConnection::Abort() {
  if (connection_ == nullptr) {
    abort_on_connect_ = true;
    return;
  }
  CloseNow();
}

void OutboundConnection::OnReceive(absl::string_view bytes) {
  session_.Consume(bytes);
  Pump();
}

void OutboundConnection::OnSendDone(absl::Status status) {
  if (!status.ok()) {
    if (failure_.ok()) failure_ = status;
    session_.OnDisconnected();
  } else {
    session_.output().Consume(send_bytes_);
  }
  send_bytes_ = 0;
  Pump();
}

void OutboundConnection::OnPeerClosed(absl::Status status) {
  if (failure_.ok() && !session_.wants_close()) {
    failure_ = status.ok() ? absl::UnavailableError("the server closed the connection") : status;
  }
  session_.OnDisconnected();
  CloseNow();
}

void OutboundConnection::OnClosed() {
  connection_ = nullptr;
  // Closed by us mid-transaction (Abort): the session still reports its transaction.
  if (!session_.wants_close()) session_.OnDisconnected();
  Gone();
}

void OutboundConnection::OnTimer() {
  session_.OnTimeout();
  Pump();
}

void OutboundConnection::OnReady() {
  SaveTlsSession();
  ever_ready_ = true;
  idle_since_ = loop_->now();
  owner_->OnConnectionReady(this);
}

void OutboundConnection::OnTransactionDone(const net::smtp::TransactionResult& result) {
  CHECK(!in_flight_messages_.empty());
  done_messages_.push_back(std::move(in_flight_messages_.front()));
  in_flight_messages_.pop_front();
  if (result.retry_at_once && session_.transaction_pipelining_refused() &&
      destination_ != nullptr) {
    destination_->MarkPipeliningRefused(absl::Now() + kPipeliningRefusedFor);
  }
  owner_->OnTransactionDone(this, result);
}

void OutboundConnection::OnConnectionFailed(const absl::Status& status,
                                            const net::smtp::ServerReply* reply) {
  if (!failure_.ok()) return;
  failure_ = status;
  if (reply != nullptr) {
    std::string summary;
    reply->AppendSummary(net::smtp::kResultReplyBytesMax, &summary);
    failure_ = absl::Status(status.code(), absl::StrCat(status.message(), " (", summary, ")"));
  }
}

void OutboundConnection::Pump() {
  if (connection_ == nullptr || closing_) return;
  net::smtp::ClientOutput& output = session_.output();
  if (session_.wants_tls() && !connection_->sending() && output.empty()) StartTls();
  if (connection_ == nullptr || closing_) return;
  if (session_.wants_close() && (session_.discard_output() || output.empty())) {
    if (!connection_->sending() || session_.discard_output()) {
      CloseNow();
      return;
    }
  }
  if (!connection_->sending() && !output.empty()) SendPending(output);
  const absl::Duration timeout = session_.current_timeout();
  if (timeout == absl::InfiniteDuration()) {
    loop_->timers().Cancel(this);
  } else {
    loop_->timers().Arm(this, loop_->now() + timeout);
  }
  // Stored bytes are referenced by the output until sent: release them only then.
  if (!connection_->sending() && output.pending_external_bytes() == 0) done_messages_.clear();
  // Last: the owner may Send() from here (a nested Pump() offers nothing).
  if (pipeline_offer_ && !in_send_ && !session_.wants_close()) {
    pipeline_offer_ = false;
    if (session_.can_pipeline()) owner_->OnConnectionCanPipeline(this);
  }
}

void OutboundConnection::SendPending(const net::smtp::ClientOutput& output) {
  net::smtp::ClientOutput::Range ranges[net::Connection::kMaxSendPieces];
  const size_t count = output.Peek(std::span<net::smtp::ClientOutput::Range>(ranges));
  CHECK_GT(count, 0u);
  // Commands live in the session's queue, which may grow (and move) while this send is in
  // flight: they go as a copy. The stored message goes in place.
  size_t copied_bytes = 0;
  for (size_t i = 0; i < count; ++i) {
    if (!ranges[i].external) copied_bytes += ranges[i].bytes.size();
  }
  send_copy_.clear();
  send_copy_.reserve(copied_bytes);  // never reallocated below: views into it stay valid
  absl::string_view pieces[net::Connection::kMaxSendPieces];
  send_bytes_ = 0;
  for (size_t i = 0; i < count; ++i) {
    const absl::string_view bytes = ranges[i].bytes;
    if (ranges[i].external) {
      pieces[i] = bytes;
    } else {
      const size_t at = send_copy_.size();
      send_copy_.append(bytes.data(), bytes.size());
      pieces[i] = absl::string_view(send_copy_.data() + at, bytes.size());
    }
    send_bytes_ += bytes.size();
  }
  CHECK_LE(send_copy_.size(), copied_bytes);
  connection_->SendPieces(std::span<const absl::string_view>(pieces, count));
}

void OutboundConnection::StartTls() {
  SSL_SESSION* resume = destination_ != nullptr ? destination_->TlsSessionForResumption() : nullptr;
  absl::StatusOr<std::unique_ptr<net::tls::TlsEngine>> engine =
      net::tls::TlsEngine::Create(tls_context_, host_name, resume);
  if (resume != nullptr) SSL_SESSION_free(resume);  // the engine holds its own reference
  if (!engine.ok()) {
    session_.OnTlsFailed(engine.status().message());
    return;
  }
  net::tls::TlsWrapOptions options;
  options.already_receiving = true;
  options.on_handshake = [this](const net::tls::TlsEngine& engine, const absl::Status& result) {
    OnTlsHandshake(engine, result);
  };
  tls_ = net::tls::TlsConnection::Wrap(connection_, *std::move(engine), std::move(options));
  connection_ = tls_;
  connection_->SetHandler(this);
  connection_->StartReceiving();
  session_.OnTlsStarted();  // EHLO again, held until the handshake completes
}

void OutboundConnection::OnTlsHandshake(const net::tls::TlsEngine& engine,
                                        const absl::Status& result) {
  if (!result.ok()) {
    if (starttls_ == net::smtp::StartTlsPolicy::kOpportunistic && destination_ != nullptr) {
      destination_->MarkTlsBroken(absl::Now() + kTlsBrokenFor);
    }
    session_.OnTlsFailed(result.message());
    return;  // OnPeerClosed() follows and closes
  }
  net::smtp::ClientCounters::Add(counters_->tls_handshakes, 1);
  SaveTlsSession();
}

void OutboundConnection::SaveTlsSession() {
  if (tls_ == nullptr || tls_session_saved_ || destination_ == nullptr) return;
  // TLS 1.2: at the end of the handshake; TLS 1.3: once the server's ticket came, which is
  // before the reply to the EHLO that follows the handshake.
  if (SSL_SESSION* session = tls_->engine().TakeSessionForResumption()) {
    destination_->SaveTlsSession(session);
    tls_session_saved_ = true;
  }
}

void OutboundConnection::CloseNow() {
  if (closing_ || connection_ == nullptr) return;
  closing_ = true;
  loop_->timers().Cancel(this);
  connection_->Close();
}

void OutboundConnection::Gone() {
  if (gone_) return;
  gone_ = true;
  loop_->timers().Cancel(this);
  owner_->OnConnectionGone(this);  // may destroy this
}

}  // namespace tern::delivery
