// Implementation of tools/ternd/shard.h.
#include "tools/ternd/shard.h"

#include <pthread.h>
#include <sched.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "core/check.h"
#include "core/json_writer.h"
#include "core/log.h"
#include "queue/spool_sink.h"

namespace tern::ternd {

using queue::ShardView;
using queue::SpoolSink;

// Accepts connections for the shard's SMTP sessions.
class Shard::Acceptor : public net::AcceptHandler {
 public:
  Acceptor(Shard* shard, net::ListenerKind kind) : shard_(shard), kind_(kind) {}
  net::ListenerKind kind() const { return kind_; }
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
  }

 private:
  Shard* shard_;
  net::ListenerKind kind_;
};

Shard::Shard(ShardConfig config) : config_(std::move(config)) {}

Shard::~Shard() { Join(); }

void Shard::Start() {
  thread_ = std::thread([this] { Main(); });
}

absl::Status Shard::WaitReady() {
  ready_.WaitForNotification();
  return setup_status_;
}

void Shard::RequestStop() {
  stop_requested_.store(true);
  if (ready_.HasBeenNotified() && setup_status_.ok()) loop_->Wake();
}

void Shard::ReopenDeliveryLog() {
  if (!ready_.HasBeenNotified() || !setup_status_.ok()) return;
  loop_->mailbox()->Post([this] {
    if (delivery_log_ == nullptr) return;
    if (absl::Status reopened = delivery_log_->Reopen(); !reopened.ok()) {
      TERN_LOG(kError, "SIGHUP: %s; still appending to the old file", reopened.message());
    }
  });
}

void Shard::ApplyDeliveryReload(const DeliveryReload& reload) {
  if (!ready_.HasBeenNotified() || !setup_status_.ok()) return;
  loop_->mailbox()->Post([this, reload] {
    if (agent_ != nullptr) agent_->Reconfigure(reload.routes, reload.dkim);
  });
}

void Shard::ApplyEgressReload(std::shared_ptr<const delivery::EgressConfig> egress) {
  CHECK(egress != nullptr);
  if (!ready_.HasBeenNotified() || !setup_status_.ok()) return;
  loop_->mailbox()->Post([this, egress = std::move(egress)] {
    message_pools_ = std::make_shared<const delivery::MessagePoolResolver>(egress);
    if (agent_ != nullptr) agent_->ReconfigureEgress(egress);
  });
}

void Shard::Join() {
  if (thread_.joinable()) thread_.join();
}

void Shard::Main() {
  core::SetThreadShardId(config_.id);
  if (config_.cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(config_.cpu, &set);
    if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set) != 0) {
      TERN_LOG(kWarning, "could not pin to cpu %d", config_.cpu);
    }
  }
  setup_status_ = Setup();
  if (!setup_status_.ok()) {
    ready_.Notify();
    return;
  }
  ready_.Notify();
  if (stop_requested_.load()) BeginShutdown();
  loop_->Run();
  TERN_LOG(kInfo, "stopped");
  // Tear down in dependency order on the shard's own thread.
  acceptors_.clear();
  agent_.reset();
  resolver_.reset();
  transport_.reset();
  delivery_log_.reset();
  spool_.reset();
  storage_.reset();
  loop_.reset();
}

absl::Status Shard::Setup() {
  auto loop = engine::CreateLoop(config_.io_engine);
  if (!loop.ok()) return loop.status();
  loop_ = *std::move(loop);
  features_ = absl::StrCat(loop_->engine_name(), ": ", loop_->DescribeFeatures());
  storage_ = config_.storage_factory ? config_.storage_factory(loop_.get())
                                     : engine::CreateStorage(loop_.get());
  config_.spool.storage = storage_.get();
  auto spool = spool::ShardSpool::Open(loop_.get(), config_.spool);
  if (!spool.ok()) return spool.status();
  spool_ = *std::move(spool);
  if (!config_.delivery_log.empty()) {
    auto log = delivery::DeliveryLog::Open(loop_.get(), config_.delivery_log);
    if (!log.ok()) return log.status();
    delivery_log_ = *std::move(log);
  }
  auto transport = engine::CreateTransport(loop_.get(), config_.transport);
  if (!transport.ok()) return transport.status();
  transport_ = *std::move(transport);
  if (config_.delivery != nullptr) {
    dns::ResolverOptions dns_options;
    dns_options.servers = config_.dns_servers;
    auto resolver = dns::Resolver::Create(loop_.get(), dns_options);
    if (!resolver.ok()) return resolver.status();
    resolver_ = *std::move(resolver);
    delivery::DeliveryAgentDeps deps{.loop = loop_.get(),
                                     .spool = spool_.get(),
                                     .transport = transport_.get(),
                                     .resolver = resolver_.get(),
                                     .pools = config_.pools,
                                     .log = delivery_log_.get(),
                                     .config = config_.delivery,
                                     .shaping = config_.shaping};
    agent_ =
        std::make_unique<delivery::DeliveryAgent>(deps, &delivery_counters_, &client_counters_);
    delivery::DeliveryAgent* agent = agent_.get();
    spool_->set_on_queued([agent](uint64_t queue_id) { agent->Enqueue(queue_id); });
    agent_->Start();
  }

  smtp_context_.loop = loop_.get();
  smtp_context_.session_config = config_.session;
  if (config_.auth != nullptr) {
    auth_backend_ = std::make_unique<smtp::LoopAuthBackend>(config_.auth, loop_.get());
    smtp_context_.session_config.auth = auth_backend_.get();
  }
  smtp_context_.relay_policy = config_.relay_policy;
  smtp_context_.counters = &smtp_counters_;
  smtp_context_.limiter = config_.limiter;
  spool::ShardSpool* spool_ptr = spool_.get();
  delivery::DeliveryLog* log_ptr = delivery_log_.get();
  message_pools_ = std::make_shared<const delivery::MessagePoolResolver>(config_.egress);
  const std::shared_ptr<const delivery::MessagePoolResolver>* pools_in_force = &message_pools_;
  smtp_context_.make_sink = [spool_ptr, log_ptr, pools_in_force](net::CommitListener* listener) {
    return std::make_unique<SpoolSink>(spool_ptr, log_ptr, listener, pools_in_force);
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
  loop_->SetWakeHandler([this] { OnWake(); });
  loop_->AddIterationHook([this] { OnIteration(); });
  OnIteration();
  return absl::OkStatus();
}

void Shard::OnWake() {
  if (stop_requested_.load() && !shutting_down_) BeginShutdown();
}

void Shard::BeginShutdown() {
  shutting_down_ = true;
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
  if (spool_closed_ && (delivery_log_ == nullptr || delivery_log_->idle())) {
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

}  // namespace tern::ternd
