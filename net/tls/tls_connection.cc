// Implementation of net/tls/tls_connection.h.
#include "net/tls/tls_connection.h"

#include "core/check.h"

namespace tern::net::tls {
namespace {

// Decrypted bytes are lent to the handler for the duration of its OnReceive() only, so one
// buffer per shard thread serves every connection (one TLS record's worth of plaintext).
constexpr size_t kPlaintextChunkBytes = 16384;
thread_local char plaintext_chunk[kPlaintextChunkBytes];

}  // namespace

TlsConnection* TlsConnection::Wrap(Connection* lower, std::unique_ptr<TlsEngine> engine,
                                   TlsWrapOptions options) {
  CHECK(lower != nullptr);
  CHECK(engine != nullptr);
  return new TlsConnection(lower, std::move(engine), std::move(options));
}

TlsConnection::TlsConnection(Connection* lower, std::unique_ptr<TlsEngine> engine,
                             TlsWrapOptions options)
    : lower_(lower), engine_(std::move(engine)), options_(std::move(options)) {
  engine_->PutCiphertext(options_.early_ciphertext);
  options_.early_ciphertext = {};
  lower_->SetHandler(this);
}

void TlsConnection::StartReceiving() {
  CHECK(upper_ != nullptr);
  CHECK(!started_);
  started_ = true;
  if (!options_.already_receiving) lower_->StartReceiving();
  Process();  // a client's ClientHello; a server's answer to early bytes
}

void TlsConnection::SendPieces(std::span<const absl::string_view> pieces) {
  CHECK(!upper_send_pending_);
  CHECK(!pieces.empty());
  CHECK_LE(pieces.size(), kMaxSendPieces);
  if (closing_) return;
  upper_send_pending_ = true;
  if (pieces.size() == 1) {
    held_plaintext_ = pieces[0];
  } else {
    gathered_plaintext_.clear();
    for (absl::string_view piece : pieces) {
      gathered_plaintext_.append(piece.data(), piece.size());
    }
    held_plaintext_ = gathered_plaintext_;
  }
  CHECK(!held_plaintext_.empty());
  WriteHeldPlaintext();
  PumpOutput();
}

void TlsConnection::WriteHeldPlaintext() {
  if (held_plaintext_.empty() || !engine_->handshake_done()) return;
  const absl::Status written = engine_->Write(held_plaintext_);
  held_plaintext_ = {};
  if (!written.ok()) {
    TellPeerClosed(written);
    return;
  }
  upper_send_goal_ = taken_ + engine_->pending_ciphertext();
}

void TlsConnection::PumpOutput() {
  if (closing_ || lower_->sending()) return;
  if (engine_->pending_ciphertext() == 0) return;
  engine_->TakeCiphertext(&in_flight_);
  taken_ += in_flight_.size();
  lower_->Send(in_flight_);
}

void TlsConnection::OnReceive(absl::string_view bytes) {
  if (closing_ || peer_closed_reported_) return;
  engine_->PutCiphertext(bytes);
  if (started_) Process();
}

void TlsConnection::Process() {
  if (!engine_->handshake_done()) {
    const TlsEngine::Progress progress = engine_->Handshake();
    if (progress == TlsEngine::Progress::kFailed) {
      // The alert the engine produced (if any) goes out before the close.
      PumpOutput();
      const absl::Status failure = absl::UnavailableError(engine_->error());
      FinishHandshake(failure);
      TellPeerClosed(failure);
      return;
    }
    if (progress == TlsEngine::Progress::kNeedMore) {
      PumpOutput();
      return;
    }
    FinishHandshake(absl::OkStatus());
    if (closing_) return;
    WriteHeldPlaintext();
  }
  // Bounded by the ciphertext put in: every kData consumes some of it.
  while (!closing_ && !peer_closed_reported_) {
    size_t got = 0;
    const TlsEngine::ReadResult result = engine_->Read(plaintext_chunk, kPlaintextChunkBytes, &got);
    if (result == TlsEngine::ReadResult::kData) {
      upper_->OnReceive(absl::string_view(plaintext_chunk, got));
      continue;
    }
    if (result == TlsEngine::ReadResult::kClosed) {
      TellPeerClosed(absl::OkStatus());
    } else if (result == TlsEngine::ReadResult::kFailed) {
      PumpOutput();
      TellPeerClosed(absl::UnavailableError(engine_->error()));
    }
    break;
  }
  PumpOutput();
}

void TlsConnection::FinishHandshake(const absl::Status& result) {
  if (handshake_reported_) return;
  handshake_reported_ = true;
  if (options_.on_handshake) options_.on_handshake(*engine_, result);
}

void TlsConnection::OnSendDone(absl::Status status) {
  if (closing_) return;
  if (!status.ok()) {
    if (upper_send_pending_) {
      upper_send_pending_ = false;
      upper_->OnSendDone(status);
    } else {
      TellPeerClosed(status);
    }
    return;
  }
  sent_ += in_flight_.size();
  in_flight_.clear();
  if (upper_send_pending_ && held_plaintext_.empty() && sent_ >= upper_send_goal_) {
    upper_send_pending_ = false;
    upper_->OnSendDone(absl::OkStatus());  // may Send() again or Close()
    if (closing_) return;
  }
  PumpOutput();
}

void TlsConnection::OnPeerClosed(absl::Status status) {
  if (!handshake_reported_ && !closing_) {
    FinishHandshake(absl::UnavailableError("connection closed during the TLS handshake"));
  }
  TellPeerClosed(std::move(status));
}

void TlsConnection::TellPeerClosed(absl::Status status) {
  if (peer_closed_reported_ || closing_) return;
  peer_closed_reported_ = true;
  upper_->OnPeerClosed(std::move(status));
}

void TlsConnection::Close() {
  if (closing_) return;
  closing_ = true;
  lower_->Close();
}

void TlsConnection::Release(absl::AnyInvocable<void(int fd)> done) {
  CHECK(done);
  CHECK(!release_done_);
  // The TLS state cannot travel with a bare socket.
  release_done_ = std::move(done);
  Close();
}

void TlsConnection::ReleaseWithEngine(
    absl::AnyInvocable<void(int fd, std::unique_ptr<TlsEngine> engine)> done) {
  CHECK(done);
  CHECK(!release_done_);
  const bool at_rest = !closing_ && !peer_closed_reported_ && !upper_send_pending_ &&
                       !lower_->sending() && engine_->idle();
  if (!at_rest) {
    release_done_ = [done = std::move(done)](int fd) mutable { done(-1, nullptr); };
    Close();
    return;
  }
  closing_ = true;
  // Not release_done_: OnClosed() must not call it a second time.
  lower_->Release([this, done = std::move(done)](int fd) mutable {
    if (fd < 0) {
      done(-1, nullptr);
      return;
    }
    done(fd, std::move(engine_));
  });
}

void TlsConnection::OnClosed() {
  absl::AnyInvocable<void(int fd)> done = std::move(release_done_);
  ConnectionHandler* upper = upper_;
  if (done) done(-1);
  if (upper != nullptr) upper->OnClosed();
  delete this;
}

}  // namespace tern::net::tls
