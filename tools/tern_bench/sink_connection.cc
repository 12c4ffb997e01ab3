// SinkConnection and ReleaseScheduler (sink_connection.h).
#include "tools/tern_bench/sink_connection.h"

#include "core/check.h"
#include "core/log.h"
#include "net/listen_socket.h"

namespace tern::tools::tern_bench {

// ---------------------------------------------------------------------------------------
// ReleaseScheduler.

void ReleaseScheduler::Schedule(absl::Time due, uint64_t connection_id) {
  heap_.push(Entry{due, connection_id});
  if (!armed() || due < deadline()) context_->loop->timers().Arm(this, due);
}

void ReleaseScheduler::Rearm() {
  if (!heap_.empty()) context_->loop->timers().Arm(this, heap_.top().due);
}

void ReleaseScheduler::OnTimer() {
  const absl::Time now = context_->loop->now();
  while (!heap_.empty() && heap_.top().due <= now) {
    const uint64_t id = heap_.top().connection_id;
    heap_.pop();
    auto it = context_->connections.find(id);
    if (it != context_->connections.end()) it->second->ReleaseHeld(now);
  }
  Rearm();
}

// ---------------------------------------------------------------------------------------
// SinkConnection.

void SinkConnection::Accept(SinkConnectionContext* context, net::Connection* connection) {
  const uint64_t seed =
      MixFaultSeed(context->fault_seed, context->thread_index, context->accepted++);
  auto* self = new SinkConnection(context, connection, seed);
  connection->SetHandler(self);
  connection->StartReceiving();
  self->session_.Start(context->loop->now());
  self->ArmTimer(context->idle_timeout);
  self->Flush();
}

SinkConnection::SinkConnection(SinkConnectionContext* context, net::Connection* connection,
                               uint64_t seed)
    : context_(context),
      connection_(connection),
      id_(connection->id()),
      session_(*context->profile, seed, context->counters, context->observer) {
  const bool inserted = context_->connections.emplace(id_, this).second;
  CHECK(inserted);
  SinkCounters::Bump(context_->counters->connections_accepted);
  context_->counters->AddOpen(1);
}

SinkConnection::~SinkConnection() {
  context_->connections.erase(id_);
  context_->counters->AddOpen(-1);
}

void SinkConnection::ArmTimer(absl::Duration after) {
  context_->loop->timers().Arm(this, context_->loop->now() + after);
}

void SinkConnection::OnReceive(absl::string_view bytes) {
  if (closing_) return;
  session_.Consume(bytes, context_->loop->now());
  if (!in_grace_) ArmTimer(context_->idle_timeout);
  Flush();
}

void SinkConnection::Flush() {
  if (closing_) return;
  if (session_.output_overflowed()) {
    TERN_LOG(kInfo, "client %s does not read its replies: closing",
             net::FormatSocketAddress(connection_->peer_address()));
    return Close();
  }
  const bool last_replies = session_.wants_close() || peer_closed_;
  if (!connection_->sending()) {
    const absl::string_view ready = session_.output().Sendable();
    if (!ready.empty()) {
      send_buffer_.assign(ready.data(), ready.size());
      session_.output().Consume(ready.size());
      connection_->Send(send_buffer_);
    } else if (last_replies && session_.output().empty()) {
      return Close();
    }
  }
  if (last_replies && !in_grace_) {
    in_grace_ = true;  // QUIT, a fault, a timeout or the client's FIN: kCloseGrace to flush
    ArmTimer(kCloseGrace);
  }
  const absl::Time next = session_.next_release();
  if (next < release_scheduled_) {
    release_scheduled_ = next;
    context_->releases->Schedule(next, id_);
  }
}

void SinkConnection::ReleaseHeld(absl::Time now) {
  release_scheduled_ = absl::InfiniteFuture();
  session_.ReleaseDue(now);
  Flush();
}

void SinkConnection::OnSendDone(absl::Status status) {
  if (!status.ok()) return Close();
  Flush();
}

void SinkConnection::OnPeerClosed(absl::Status status) {
  if (!status.ok()) return Close();  // reset: nobody will read the replies
  // A client may send its last commands and shut down its side at once ("QUIT" and FIN):
  // their replies still go out, then the connection closes.
  peer_closed_ = true;
  Flush();
}

void SinkConnection::Close() {
  if (closing_) return;
  closing_ = true;
  context_->loop->timers().Cancel(this);
  connection_->Close();
}

void SinkConnection::OnClosed() {
  connection_ = nullptr;
  delete this;
}

void SinkConnection::OnTimer() {
  if (closing_) return;
  if (in_grace_) return Close();  // the client did not take its last replies in time
  session_.OnTimeout();
  Flush();
}

void SinkConnection::Shutdown() {
  if (closing_) return;
  session_.OnShutdown();
  Flush();
}

}  // namespace tern::tools::tern_bench
