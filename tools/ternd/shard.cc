// Implementation of tools/ternd/shard.h.
#include "tools/ternd/shard.h"

#include <unistd.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "core/check.h"
#include "core/json_writer.h"
#include "core/log.h"
#include "queue/spool_sink.h"

namespace tern::tools::ternd {

using queue::ShardView;
using queue::SpoolSink;

// Accepts connections for the shard's SMTP sessions, those of its own listener of one kind
// and those other shards hand it (which come in through OnAccept() too).
class Shard::Acceptor : public net::AcceptHandler {
 public:
  Acceptor(Shard* shard, net::ListenerKind kind) : shard_(shard), kind_(kind) {}
  net::ListenerKind kind() const { return kind_; }

  // A less loaded shard serves the connection when there is one (net/inbound_balance.h).
  // Before anything else looks at it: the client is counted against
  // --max_connections_per_ip and in tern_smtp_connections_total once, by the serving shard.
  bool TakeAcceptedSocket(int fd) override {
    const ShardConfig& config = shard_->config_;
    if (config.balance == nullptr) return false;
    const int owner = config.balance->Place(config.id);
    if (owner == config.id) return false;
    if (!config.hand_off(owner, fd, kind_)) {
      config.balance->HandOffEnded(owner);
      return false;
    }
    shard_->connections_handed_off_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }

  void OnAccept(net::Connection* connection) override {
    net::SmtpServerContext* context = &shard_->smtp_context_;
    const sockaddr_storage& peer = connection->peer_address();
    // Clients allowed to relay are exempt from the per-address limit (as Postfix exempts
    // $mynetworks from its client limits).
    using Admission = net::SmtpConnection::Admission;
    Admission admission = Admission::kExempt;
    if (!context->relay_policy->ClientMayRelay(peer)) {
      admission = context->limiter->TryAcquire(peer) ? Admission::kCounted : Admission::kOverLimit;
    }
    shard_->connections_total_.fetch_add(1, std::memory_order_relaxed);
    net::SmtpConnection::Accept(context, connection, admission, kind_);
    shard_->PublishInboundLoad();
  }

 private:
  Shard* shard_;
  net::ListenerKind kind_;
};

// A socket on its way from the shard that accepted it to the one that serves it: closed,
// and the balance told, if it is dropped on the way (the shard stopped).
class Shard::HandedOffSocket {
 public:
  HandedOffSocket(int fd, net::InboundBalance* balance, int shard)
      : fd_(fd), balance_(balance), shard_(shard) {}
  HandedOffSocket(HandedOffSocket&& other)
      : fd_(std::exchange(other.fd_, -1)),
        balance_(std::exchange(other.balance_, nullptr)),
        shard_(other.shard_) {}
  HandedOffSocket& operator=(HandedOffSocket&&) = delete;
  // The hand-off ends here: adopted (counted by SetOpen() before) or dropped.
  ~HandedOffSocket() {
    if (fd_ >= 0) close(fd_);
    if (balance_ != nullptr) balance_->HandOffEnded(shard_);
  }
  int Release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
  net::InboundBalance* balance_;
  int shard_;
};

Shard::Shard(ShardConfig config)
    : config_(std::move(config)),
      thread_({.name = absl::StrCat("shard-", config_.id),
               .cpu = config_.cpu,
               .log_shard_id = config_.id}) {}

Shard::~Shard() { Join(); }

void Shard::Start() {
  const engine::IoEngine io_engine = config_.io_engine;
  thread_.Start([io_engine] { return engine::CreateLoop(io_engine); },
                {.set_up = [this](core::Loop* loop) { return Setup(loop); },
                 .on_stop = [this] { BeginShutdown(); },
                 .tear_down = [this] { TearDown(); }});
}

absl::Status Shard::WaitReady() { return thread_.WaitReady(); }

void Shard::RequestStop() {
  stop_requested_.store(true);
  thread_.RequestStop();
}

void Shard::ReopenDeliveryLog() {
  thread_.Post([this] {
    if (delivery_log_ == nullptr) return;
    if (absl::Status reopened = delivery_log_->Reopen(); !reopened.ok()) {
      TERN_LOG(kError, "SIGHUP: %s; still appending to the old file", reopened.message());
    }
  });
}

void Shard::ApplyDeliveryReload(const DeliveryReload& reload) {
  thread_.Post([this, reload] {
    if (agent_ != nullptr)
      agent_->Reconfigure(reload.routes, reload.dkim, reload.bounce_classifier);
  });
}

void Shard::ApplyEgressReload(std::shared_ptr<const delivery::EgressConfig> egress) {
  CHECK(egress != nullptr);
  thread_.Post([this, egress = std::move(egress)] {
    message_pools_ = std::make_shared<const delivery::MessagePoolResolver>(egress);
    if (agent_ != nullptr) agent_->ReconfigureEgress(egress);
  });
}

bool Shard::TakeHandedOff(int fd, net::ListenerKind kind) {
  if (!thread_.ready() || stop_requested_.load()) return false;
  HandedOffSocket socket(fd, config_.balance, config_.id);
  // Fails only once the loop is gone: the socket is then closed with the dropped task.
  thread_.Post([this, socket = std::move(socket), kind]() mutable {
    AdoptHandedOff(std::move(socket), kind);
  });
  return true;
}

void Shard::AdoptHandedOff(HandedOffSocket socket, net::ListenerKind kind) {
  if (shutting_down_) return;  // closed as listeners close their backlog
  Acceptor* acceptor = nullptr;
  for (const auto& existing : acceptors_) {
    if (existing->kind() == kind) acceptor = existing.get();
  }
  CHECK(acceptor != nullptr);  // every shard listens on every address
  absl::StatusOr<net::Connection*> connection = transport_->Adopt(socket.Release());
  if (!connection.ok()) {  // the client left already
    TERN_LOG(kDebug, "connection handed over from another shard: %s",
             connection.status().message());
    return;
  }
  acceptor->OnAccept(*connection);
}

void Shard::PublishInboundLoad() {
  if (config_.balance != nullptr) {
    config_.balance->SetOpen(config_.id, smtp_context_.connections.size());
  }
}

void Shard::Join() { thread_.Join(); }

void Shard::TearDown() {
  if (shutting_down_) TERN_LOG(kInfo, "stopped");
  // In dependency order, on the shard's own thread, before the loop goes.
  acceptors_.clear();
  agent_.reset();
  resolver_.reset();
  transport_.reset();
  delivery_log_.reset();
  events_.reset();
  spool_.reset();
  storage_.reset();
  loop_ = nullptr;
}

absl::Status Shard::Setup(core::Loop* loop) {
  loop_ = loop;
  features_ = absl::StrCat(loop_->engine_name(), ": ", loop_->DescribeFeatures());
  storage_ =
      config_.storage_factory ? config_.storage_factory(loop_) : engine::CreateStorage(loop_);
  config_.spool.storage = storage_.get();
  auto spool = spool::ShardSpool::Open(loop_, config_.spool);
  if (!spool.ok()) return spool.status();
  spool_ = *std::move(spool);
  if (!config_.delivery_log.empty()) {
    auto log = delivery::DeliveryLog::Open(loop_, config_.delivery_log);
    if (!log.ok()) return log.status();
    delivery_log_ = *std::move(log);
  }
  events_ = std::make_unique<events::EventPublisher>(loop_, config_.events);
  auto transport = engine::CreateTransport(loop_, config_.transport);
  if (!transport.ok()) return transport.status();
  transport_ = *std::move(transport);
  if (config_.delivery != nullptr) {
    net::dns::ResolverOptions dns_options;
    dns_options.servers = config_.dns_servers;
    auto resolver = net::dns::Resolver::Create(loop_, dns_options);
    if (!resolver.ok()) return resolver.status();
    resolver_ = *std::move(resolver);
    delivery::DeliveryAgentDeps deps{.loop = loop_,
                                     .spool = spool_.get(),
                                     .transport = transport_.get(),
                                     .resolver = resolver_.get(),
                                     .pools = config_.pools,
                                     .shard = static_cast<uint32_t>(config_.id),
                                     .log = delivery_log_.get(),
                                     .config = config_.delivery,
                                     .shaping = config_.shaping,
                                     .events = events_.get()};
    agent_ =
        std::make_unique<delivery::DeliveryAgent>(deps, &delivery_counters_, &client_counters_);
    delivery::DeliveryAgent* agent = agent_.get();
    spool_->set_on_queued([agent](uint64_t queue_id) { agent->Enqueue(queue_id); });
    agent_->Start();
  }

  smtp_context_.loop = loop_;
  smtp_context_.session_config = config_.session;
  if (config_.auth != nullptr) {
    auth_backend_ = std::make_unique<net::smtp::LoopAuthBackend>(config_.auth, loop_);
    smtp_context_.session_config.auth = auth_backend_.get();
  }
  if (config_.suppression != nullptr && !config_.suppressed_drop) {
    suppression_screen_ = std::make_unique<SuppressionScreen>(&config_.suppression->index());
    smtp_context_.session_config.recipient_screen = suppression_screen_.get();
  }
  smtp_context_.relay_policy = config_.relay_policy;
  smtp_context_.counters = &smtp_counters_;
  smtp_context_.limiter = config_.limiter;
  spool::ShardSpool* spool_ptr = spool_.get();
  delivery::DeliveryLog* log_ptr = delivery_log_.get();
  events::EventPublisher* events_ptr = events_.get();
  message_pools_ = std::make_shared<const delivery::MessagePoolResolver>(config_.egress);
  const std::shared_ptr<const delivery::MessagePoolResolver>* pools_in_force = &message_pools_;
  smtp_context_.make_sink = [spool_ptr, log_ptr, pools_in_force,
                             events_ptr](net::CommitListener* listener) {
    return std::make_unique<SpoolSink>(spool_ptr, log_ptr, listener, pools_in_force, events_ptr);
  };
  smtp_context_.tls = config_.tls;
  smtp_context_.tls_handshake_timeout = config_.tls_handshake_timeout;
  smtp_context_.greet_pause = config_.greet_pause;
  smtp_context_.min_data_rate = config_.min_data_rate;
  for (const auto& [fd, kind] : config_.listen_fds) {
    Acceptor* acceptor = nullptr;
    for (const auto& existing : acceptors_) {
      if (existing->kind() == kind) acceptor = existing.get();
    }
    if (acceptor == nullptr) {
      acceptors_.push_back(std::make_unique<Acceptor>(this, kind));
      acceptor = acceptors_.back().get();
    }
    absl::Status listening = transport_->Listen(fd, acceptor);
    if (!listening.ok()) return listening;
  }
  config_.listen_fds.clear();  // the transport owns them now
  loop_->AddIterationHook([this] { OnIteration(); });
  OnIteration();
  if (config_.balance != nullptr) config_.balance->SetAccepting(config_.id, true);
  return absl::OkStatus();
}

void Shard::BeginShutdown() {
  shutting_down_ = true;
  if (config_.balance != nullptr) config_.balance->SetAccepting(config_.id, false);
  shutdown_deadline_ = absl::Now() + config_.shutdown_grace;
  TERN_LOG(kInfo, "stopping: no new connections, %d sessions to finish",
           smtp_context_.connections.size());
  transport_->StopListening();
  if (agent_ != nullptr) agent_->BeginShutdown();
  if (resolver_ != nullptr) resolver_->Shutdown();
  ArmShutdownTicker();
  std::vector<net::SmtpConnection*> sessions(smtp_context_.connections.begin(),
                                             smtp_context_.connections.end());
  for (net::SmtpConnection* session : sessions) session->Shutdown();
}

void Shard::ArmShutdownTicker() {
  loop_->timers().Arm(&shutdown_ticker_, loop_->now() + kShutdownTick);
}

void Shard::OnIteration() {
  queue_messages_.store(spool_->index().count(), std::memory_order_relaxed);
  queue_bytes_.store(spool_->index().message_bytes(), std::memory_order_relaxed);
  queue_held_.store(spool_->index().held_count(), std::memory_order_relaxed);
  open_connections_.store(smtp_context_.connections.size(), std::memory_order_relaxed);
  events_published_.store(events_->published(), std::memory_order_relaxed);
  events_lost_.store(events_->lost(), std::memory_order_relaxed);
  PublishInboundLoad();
  if (!shutting_down_) return;
  if (!smtp_context_.connections.empty() && absl::Now() < shutdown_deadline_) return;
  if (agent_ != nullptr && !agent_->idle()) {
    // Transactions in flight finish and are recorded; past the grace they are cut (and
    // retried after the restart).
    if (absl::Now() < shutdown_deadline_) return;
    if (!agent_aborted_) {
      agent_aborted_ = true;
      agent_->AbortConnections();
    }
    return;
  }
  if (resolver_ != nullptr && !resolver_->idle()) return;
  if (!spool_closing_) {
    spool_closing_ = true;
    spool_->Shutdown([this] { spool_closed_ = true; });
  }
  // Journal appends still unanswered would call back into a loop that is gone.
  if (spool_closed_ && (delivery_log_ == nullptr || delivery_log_->idle()) &&
      events_->pending() == 0) {
    loop_->timers().Cancel(&shutdown_ticker_);
    loop_->Stop();
  }
}

ShardView Shard::View() {
  return {.shard_id = config_.id,
          .spool = spool_.get(),
          .agent = agent_.get(),
          .log = delivery_log_.get(),
          .counters = &delivery_counters_,
          .smtp_connections = smtp_context_.connections.size()};
}

}  // namespace tern::tools::ternd
