// SourceWorker: one thread of tern-bench source, with the glue between its connections'
// SourceSessions and the transport (source_worker.h).
#include "tools/tern_bench/source_worker.h"

#include <time.h>

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/check.h"
#include "core/timer_wheel.h"
#include "net/tls/tls_connection.h"
#include "tools/tern_bench/common_flags.h"

namespace tern::tools::tern_bench {

int64_t MonotonicNowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

// A precise one-shot wake-up at an absolute CLOCK_MONOTONIC time (the loop's timer wheel
// ticks every 10 ms, too coarse for arrivals every fraction of a millisecond).
class SourceWorker::ArrivalTimer : public core::Completion {
 public:
  ArrivalTimer(core::Loop* loop, SourceWorker* worker) : loop_(loop), worker_(worker) {}
  void ArmAt(int64_t when_ns) {
    if (armed_) return;
    armed_ = true;
    loop_->WakeAtMonotonic(when_ns, this);
  }
  bool armed() const { return armed_; }
  void OnComplete(int32_t res, uint32_t flags) override {
    armed_ = false;
    worker_->OnArrivals();
  }

 private:
  core::Loop* loop_;
  SourceWorker* worker_;
  bool armed_ = false;
};

// One outbound connection: moves bytes between the transport and its SourceSession.
class SourceWorker::Connection : public net::ConnectHandler,
                                 public net::ConnectionHandler,
                                 public core::Timer {
 public:
  explicit Connection(SourceWorker* worker)
      : worker_(worker), session_(worker->plan_.session, &worker->stats_) {}

  void Open() {
    connect_started_ns_ = MonotonicNowNs();
    net::ConnectRequest request;
    request.to = worker_->plan_.target.storage;
    request.to_length = worker_->plan_.target.length;
    request.timeout = worker_->plan_.connect_timeout;
    worker_->transport_->Connect(request, this);
  }

  SourceSession& session() { return session_; }
  GeneratedMessage& message() { return message_; }
  uint64_t messages_sent() const { return session_.messages_started(); }

  // After the worker started a message or asked to quit.
  void Pump() { AfterEvent(); }

  void OnConnected(absl::StatusOr<net::Connection*> connection) override {
    if (!connection.ok()) {
      connect_error_ = connection.status();
      worker_->OnConnectionEnded(this, /*connect_failed=*/true);  // deletes this
      return;
    }
    connection_ = *connection;
    const int64_t now = MonotonicNowNs();
    worker_->stats_.ConnectionOpened();
    worker_->stats_.Record(Phase::kConnect, now - connect_started_ns_);
    connection_->SetHandler(this);
    connection_->StartReceiving();
    session_.OnConnected(now);
    AfterEvent();
  }

  void OnReceive(absl::string_view bytes) override {
    session_.Consume(bytes, MonotonicNowNs());
    AfterEvent();
  }
  void OnSendDone(absl::Status status) override {
    if (!status.ok()) session_.OnDisconnected();
    AfterEvent();
  }
  void OnPeerClosed(absl::Status status) override {
    session_.OnDisconnected();
    AfterEvent();
  }
  void OnClosed() override { worker_->OnConnectionEnded(this, /*connect_failed=*/false); }
  void OnTimer() override {
    session_.OnTimeout();
    AfterEvent();
  }
  const absl::Status& connect_error() const { return connect_error_; }

 private:
  // The 220 to STARTTLS came and everything before it was sent: TLS on this socket (the
  // server's certificate is not verified: a benchmark measures, it does not authenticate).
  void StartTls() {
    absl::StatusOr<std::unique_ptr<net::tls::TlsEngine>> engine =
        net::tls::TlsEngine::Create(worker_->tls_);
    if (!engine.ok()) {
      session_.OnDisconnected();
      return;
    }
    net::tls::TlsWrapOptions options;
    options.already_receiving = true;
    options.on_handshake = [this](const net::tls::TlsEngine&, const absl::Status& result) {
      if (result.ok()) session_.OnTlsEstablished(MonotonicNowNs());
    };
    connection_ =
        net::tls::TlsConnection::Wrap(connection_, *std::move(engine), std::move(options));
    connection_->SetHandler(this);
    connection_->StartReceiving();
    session_.OnTlsStarted(MonotonicNowNs());
  }

  void AfterEvent() {
    if (closing_) return;
    if (session_.ready()) {
      worker_->OnReady(this);  // may start a message or quit; may not destroy us
    }
    if (session_.wants_tls() && !connection_->sending() && session_.output().empty()) {
      StartTls();
    }
    if (!connection_->sending() && !session_.output().empty()) {
      sending_.swap(session_.output());
      session_.output().clear();
      connection_->Send(sending_);
      session_.OnOutputTaken(MonotonicNowNs());
    }
    if (session_.closed() && (session_.failed() || !connection_->sending())) {
      closing_ = true;
      worker_->loop_->timers().Cancel(this);
      if (session_.failed()) worker_->stats_.ConnectionFailed();
      connection_->Close();  // OnClosed() follows
      return;
    }
    if (session_.waiting_for_reply()) {
      worker_->loop_->timers().Arm(this, absl::Now() + worker_->plan_.reply_timeout);
    } else {
      worker_->loop_->timers().Cancel(this);
    }
  }

  SourceWorker* const worker_;
  SourceSession session_;
  GeneratedMessage message_;
  net::Connection* connection_ = nullptr;
  std::string sending_;  // what the transport is sending (stable until OnSendDone)
  int64_t connect_started_ns_ = 0;
  bool closing_ = false;
  absl::Status connect_error_;
};

SourceWorker::SourceWorker(SourcePlan plan)
    : plan_(std::move(plan)),
      factory_(plan_.run_id, plan_.stream, plan_.sizes.max_size()),
      random_(plan_.seed),
      thread_({.name = absl::StrCat("source-", plan_.stream)}) {
  CHECK(!plan_.recipient_sets.empty());
  CHECK_GT(plan_.streams, plan_.stream);
}

SourceWorker::~SourceWorker() {
  RequestStop();
  thread_.Join();
  CHECK(connections_.empty());
}

void SourceWorker::Start() {
  thread_.Start(CreateBenchLoop, {.set_up = [this](core::Loop* loop) { return Setup(loop); },
                                  .on_stop = [this] { Stop(); },
                                  .tear_down = [this] { TearDown(); }});
}

absl::Status SourceWorker::WaitReady() { return thread_.WaitReady(); }

absl::Status SourceWorker::Join() {
  thread_.Join();
  absl::Status ready = thread_.WaitReady();
  return ready.ok() ? error_ : ready;
}

absl::Status SourceWorker::Setup(core::Loop* loop) {
  loop_ = loop;
  engine::TransportOptions options;
  options.receive_buffers = 512;
  options.receive_buffer_bytes = 4096;
  absl::StatusOr<std::unique_ptr<net::Transport>> transport =
      engine::CreateTransport(loop_, options);
  if (!transport.ok()) return transport.status();
  transport_ = *std::move(transport);
  if (plan_.session.starttls) {
    absl::StatusOr<std::shared_ptr<const net::tls::TlsContext>> tls =
        net::tls::TlsContext::CreateClient({});
    if (!tls.ok()) return tls.status();
    tls_ = *std::move(tls);
  }
  arrival_timer_ = std::make_unique<ArrivalTimer>(loop_, this);
  if (plan_.rate > 0) {
    first_arrival_ns_ = next_arrival_ns_ = MonotonicNowNs();
    OnArrivals();
  }
  OpenConnections();
  FinishIfDone();  // stops the loop before it runs when there is nothing to do
  return absl::OkStatus();
}

void SourceWorker::TearDown() {
  // Every connection has closed (or none was opened: set-up failed).
  CHECK(connections_.empty());
  transport_.reset();
  loop_ = nullptr;
}

void SourceWorker::RequestStop() { thread_.RequestStop(); }

bool SourceWorker::MoreToStart(int64_t now_ns) const {
  if (stopping_) return false;
  if (plan_.rate > 0) return !arrivals_done_ || !backlog_.empty();
  if (now_ns >= plan_.deadline_ns) return false;
  return plan_.messages == 0 || started_ < plan_.messages;
}

void SourceWorker::OpenConnections() {
  const int64_t now = MonotonicNowNs();
  uint64_t want = plan_.connections;
  if (plan_.rate == 0 && plan_.messages != 0) {
    // No more connections than messages left to start, plus those already open.
    want = std::min<uint64_t>(want, plan_.messages - started_);
  }
  while (connections_.size() < want && MoreToStart(now)) {
    auto* connection = new Connection(this);
    connections_.insert(connection);
    connection->Open();
  }
}

void SourceWorker::OnReady(Connection* connection) {
  const int64_t now = MonotonicNowNs();
  const bool used_up = plan_.messages_per_connection != 0 &&
                       connection->messages_sent() >= plan_.messages_per_connection;
  if (used_up || !MoreToStart(now)) {
    if (connection->session().idle()) connection->session().Quit();
    return;  // else QUIT once the message in flight is answered
  }
  if (plan_.rate == 0) {
    ++started_;
    StartOn(connection, now);
    return;
  }
  if (!backlog_.empty()) {
    const int64_t arrival = backlog_.front();
    backlog_.pop_front();
    StartOn(connection, arrival);
    return;
  }
  if (std::find(idle_.begin(), idle_.end(), connection) == idle_.end()) idle_.push_back(connection);
}

void SourceWorker::StartOn(Connection* connection, int64_t start_ns) {
  const bool chunked = plan_.session.chunking && connection->session().capabilities().chunking;
  const size_t size = plan_.sizes.Pick(random_());
  const std::vector<std::string>& recipients =
      plan_.recipient_sets[(messages_built_ * plan_.streams + plan_.stream) %
                           plan_.recipient_sets.size()];
  factory_.Build(messages_built_++, size, plan_.sender, recipients.front(),
                 /*want_content=*/chunked,
                 /*want_data_wire=*/!chunked, &connection->message());
  OutgoingMessage message;
  message.sender = plan_.sender;
  message.recipients = recipients;
  message.message = &connection->message();
  message.start_ns = start_ns;
  connection->session().StartMessage(message, MonotonicNowNs());
}

void SourceWorker::OnArrivals() {
  if (stopping_ || arrivals_done_) return;
  const int64_t now = MonotonicNowNs();
  const double interval_ns = 1e9 / plan_.rate;
  while (next_arrival_ns_ <= now) {
    if ((plan_.messages != 0 && arrivals_ >= plan_.messages) ||
        next_arrival_ns_ >= plan_.deadline_ns) {
      arrivals_done_ = true;
      break;
    }
    backlog_.push_back(next_arrival_ns_);
    ++arrivals_;
    next_arrival_ns_ =
        static_cast<int64_t>(std::llround(static_cast<double>(arrivals_) * interval_ns)) +
        first_arrival_ns_;
  }
  // Hand arrivals to idle connections.
  while (!backlog_.empty() && !idle_.empty()) {
    Connection* connection = idle_.back();
    idle_.pop_back();
    if (!connection->session().ready()) continue;  // failed or closing meanwhile
    const int64_t arrival = backlog_.front();
    backlog_.pop_front();
    StartOn(connection, arrival);
    connection->Pump();
  }
  if (arrivals_done_) {
    std::vector<Connection*> idle;
    idle.swap(idle_);
    for (Connection* connection : idle) connection->Pump();  // OnReady: nothing left, QUIT
  } else {
    arrival_timer_->ArmAt(next_arrival_ns_);
  }
  OpenConnections();
  FinishIfDone();
}

void SourceWorker::OnConnectionEnded(Connection* connection, bool connect_failed) {
  connections_.erase(connection);
  idle_.erase(std::remove(idle_.begin(), idle_.end(), connection), idle_.end());
  if (connect_failed) {
    stats_.ConnectionFailed();
    // A target that refuses every connection ends the run instead of spinning.
    if (++consecutive_connect_failures_ >= std::max<uint32_t>(10, 2 * plan_.connections) &&
        error_.ok()) {
      error_ = absl::UnavailableError(
          absl::StrCat("cannot connect to the target: ", connection->connect_error().message()));
      Stop();
    }
  } else {
    consecutive_connect_failures_ = 0;
  }
  delete connection;
  OpenConnections();
  FinishIfDone();
}

void SourceWorker::FinishIfDone() {
  if (!connections_.empty() || finished_.load() || MoreToStart(MonotonicNowNs())) return;
  finished_.store(true, std::memory_order_release);
  if (loop_ != nullptr) loop_->Stop();
}

void SourceWorker::Stop() {
  if (stopping_) return;
  stopping_ = true;
  arrivals_done_ = true;
  // Arrivals that never started are not messages of this run.
  backlog_.clear();
  std::vector<Connection*> idle;
  idle.swap(idle_);
  for (Connection* connection : idle) connection->Pump();
  FinishIfDone();
}

}  // namespace tern::tools::tern_bench
