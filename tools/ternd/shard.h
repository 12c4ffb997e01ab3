// Shard: one pinned thread (core::ShardThread) that owns a loop, its listening sockets' accept
// loops, its SMTP sessions, its spool and queue index. Other threads talk to it only through
// RequestStop(), Ask() and the SIGHUP calls (all posted to its loop's mailbox); its counters
// are relaxed atomics they may read at any time.
//
//   Shard shard(config);
//   shard.Start();
//   RETURN_IF_ERROR(shard.WaitReady());
//   ...
//   shard.RequestStop(); shard.Join();
#pragma once

#include <atomic>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/loop.h"
#include "core/shard_thread.h"
#include "delivery/delivery_agent.h"
#include "delivery/delivery_config.h"
#include "delivery/delivery_counters.h"
#include "delivery/delivery_log.h"
#include "delivery/egress_config.h"
#include "delivery/message_pool_resolver.h"
#include "engine/io_engine.h"
#include "events/event_journal.h"
#include "events/event_publisher.h"
#include "net/connection_limiter.h"
#include "net/destination_pool.h"
#include "net/dns/resolver.h"
#include "net/inbound_balance.h"
#include "net/smtp/client_counters.h"
#include "net/smtp/password_checker.h"
#include "net/smtp/relay_policy.h"
#include "net/smtp/session.h"
#include "net/smtp/smtp_counters.h"
#include "net/smtp_connection.h"
#include "queue/queue_operations.h"
#include "spool/shard_spool.h"
#include "spool/storage.h"
#include "suppression/suppression_list.h"
#include "tools/ternd/delivery_reload.h"
#include "tools/ternd/suppression_screen.h"

namespace tern::tools::ternd {

struct ShardConfig {
  int id = 0;
  int cpu = -1;  // -1: not pinned
  // SO_REUSEPORT sockets, one per listen address, and what each is for.
  std::vector<std::pair<int, net::ListenerKind>> listen_fds;
  const net::tls::TlsContextSlot* tls = nullptr;  // null: no TLS
  net::smtp::PasswordChecker* auth = nullptr;     // null: no AUTH
  absl::Duration tls_handshake_timeout = absl::Seconds(30);
  absl::Duration greet_pause = absl::ZeroDuration();
  uint64_t min_data_rate = 0;
  spool::SpoolOptions spool;
  engine::IoEngine io_engine = engine::IoEngine::kUring;
  engine::TransportOptions transport;
  net::smtp::SessionConfig session;
  const net::smtp::RelayPolicy* relay_policy = nullptr;
  net::ConnectionLimiter* limiter = nullptr;
  // --inbound_balance=handoff with more than one shard (null otherwise: the kernel's
  // SO_REUSEPORT spread stands): the shards' shared loads, and how to give an accepted
  // socket to shard N (Shard::TakeHandedOff of that shard; false: the caller keeps it).
  net::InboundBalance* balance = nullptr;
  std::function<bool(int shard, int fd, net::ListenerKind kind)> hand_off;
  absl::Duration shutdown_grace = absl::Seconds(10);
  std::string delivery_log;  // path; empty: none
  // Delivery: null config means accept only (--deliver=false).
  const delivery::DeliveryConfig* delivery = nullptr;
  net::DestinationPools* pools = nullptr;
  queue::ShapingState* shaping = nullptr;
  std::vector<std::string> dns_servers;
  // Egress sources and pools (null or without pools: messages get no pool).
  std::shared_ptr<const delivery::EgressConfig> egress;
  // The suppression list every shard reads at RCPT (null: none); with suppressed_drop a
  // suppressed recipient is accepted (and dropped at delivery) instead of refused.
  suppression::SuppressionList* suppression = nullptr;
  bool suppressed_drop = false;
  // The webhook's event journal, shared by every shard (null: no --webhook).
  events::EventJournal* events = nullptr;
  // Tests only (tools/ternd/daemon.h): the spool's storage backend. Empty: the ring backend.
  std::function<std::unique_ptr<spool::StorageBackend>(core::Loop*)> storage_factory;
};

class Shard {
 public:
  explicit Shard(ShardConfig config);
  ~Shard();

  void Start();
  // Blocks until the shard runs (OK) or failed to start.
  absl::Status WaitReady();
  // Thread-safe: graceful stop (stop accepting, let sessions finish or 421 them, let the
  // group commit in flight complete, close).
  void RequestStop();
  // Thread-safe: SIGHUP (logrotate) reopens the delivery log on the shard's thread.
  void ReopenDeliveryLog();
  // Thread-safe: SIGHUP hands the delivery agent routes and DKIM keys read again.
  void ApplyDeliveryReload(const DeliveryReload& reload);
  // Thread-safe: SIGHUP's egress sources and pools (never null): messages starting from
  // then on get their pool from them, the delivery agent picks sources from them.
  void ApplyEgressReload(std::shared_ptr<const delivery::EgressConfig> egress);
  // Thread-safe: a socket another shard accepted on a listener of `kind` and handed here
  // (net/inbound_balance.h). True: taken, served on this shard's loop as if its own
  // listener had accepted it (closed instead when the shard stops first), and
  // config.balance->HandOffEnded(id) follows once. False: the shard is not running (not
  // started, or stopping); the caller keeps `fd`.
  bool TakeHandedOff(int fd, net::ListenerKind kind);
  void Join();
  // Thread-safe: runs `task` on the shard's thread with what it may touch there; the task
  // answers through its reply callback, once, maybe later. Blocks for the answer; nullopt
  // when the shard is not running or took longer than `timeout`.
  template <typename T>
  using Task = absl::AnyInvocable<void(const queue::ShardView&, absl::AnyInvocable<void(T)> reply)>;
  template <typename T>
  std::optional<T> Ask(Task<T> task, absl::Duration timeout = kAskTimeout);
  static constexpr absl::Duration kAskTimeout = absl::Seconds(30);

  int id() const { return config_.id; }
  const net::smtp::SmtpCounters& smtp_counters() const { return smtp_counters_; }
  const delivery::DeliveryCounters& delivery_counters() const { return delivery_counters_; }
  const net::smtp::ClientCounters& client_counters() const { return client_counters_; }
  // Valid after WaitReady() returned OK, until Join(); null without delivery.
  const net::dns::Resolver* resolver() const { return resolver_.get(); }
  // Valid after WaitReady() returned OK, until Join().
  const spool::ShardSpool* spool() const { return spool_.get(); }
  uint64_t queue_messages() const { return queue_messages_.load(std::memory_order_relaxed); }
  uint64_t queue_bytes() const { return queue_bytes_.load(std::memory_order_relaxed); }
  uint64_t queue_held() const { return queue_held_.load(std::memory_order_relaxed); }
  uint64_t open_connections() const { return open_connections_.load(std::memory_order_relaxed); }
  // Events this shard made durable for the webhook, and lost (the journal refused them).
  uint64_t events_published() const { return events_published_.load(std::memory_order_relaxed); }
  uint64_t events_lost() const { return events_lost_.load(std::memory_order_relaxed); }
  uint64_t connections_total() const { return connections_total_.load(std::memory_order_relaxed); }
  // Connections this shard accepted and handed to a less loaded shard.
  uint64_t connections_handed_off() const {
    return connections_handed_off_.load(std::memory_order_relaxed);
  }
  std::string features() const { return features_; }

 private:
  class Acceptor;
  class HandedOffSocket;
  // While stopping, keeps the loop iterating so the shutdown steps are re-checked even when
  // no I/O completes.
  class ShutdownTicker : public core::Timer {
   public:
    explicit ShutdownTicker(Shard* shard) : shard_(shard) {}
    void OnTimer() override { shard_->ArmShutdownTicker(); }

   private:
    Shard* shard_;
  };
  static constexpr absl::Duration kShutdownTick = absl::Milliseconds(20);

  void ArmShutdownTicker();
  // On the shard's thread (core::ShardThreadHooks).
  absl::Status Setup(core::Loop* loop);
  void TearDown();
  void OnIteration();
  void BeginShutdown();
  // On the shard's thread: serves a socket TakeHandedOff() took.
  void AdoptHandedOff(HandedOffSocket socket, net::ListenerKind kind);
  // The balance's count of this shard's sessions (after each accept and iteration).
  void PublishInboundLoad();
  queue::ShardView View();

  ShardConfig config_;
  core::ShardThread thread_;
  std::atomic<bool> stop_requested_{false};

  // Used by the shard's thread only (the loop is the ShardThread's).
  core::Loop* loop_ = nullptr;
  std::unique_ptr<spool::StorageBackend> storage_;  // the engine's, or the storage_factory's
  std::unique_ptr<spool::ShardSpool> spool_;
  std::unique_ptr<delivery::DeliveryLog> delivery_log_;
  std::unique_ptr<events::EventPublisher> events_;  // disabled without a journal
  std::unique_ptr<net::Transport> transport_;
  std::unique_ptr<net::dns::Resolver> resolver_;
  std::unique_ptr<delivery::DeliveryAgent> agent_;
  bool agent_aborted_ = false;
  std::vector<std::unique_ptr<Acceptor>> acceptors_;  // one per listener kind in use
  std::unique_ptr<net::smtp::LoopAuthBackend> auth_backend_;
  // The suppression list as every session's RecipientScreen (null: none, or drop mode).
  std::unique_ptr<SuppressionScreen> suppression_screen_;
  // The sinks' resolver in force (never null; SIGHUP replaces it, each message holds the
  // one it started with). Outlives every sink: the connections go before the shard.
  std::shared_ptr<const delivery::MessagePoolResolver> message_pools_;
  net::SmtpServerContext smtp_context_;
  bool shutting_down_ = false;
  bool spool_closed_ = false;
  bool spool_closing_ = false;
  absl::Time shutdown_deadline_;
  ShutdownTicker shutdown_ticker_{this};
  std::string features_;

  net::smtp::SmtpCounters smtp_counters_;
  delivery::DeliveryCounters delivery_counters_;
  net::smtp::ClientCounters client_counters_;
  std::atomic<uint64_t> queue_messages_{0};
  std::atomic<uint64_t> events_published_{0};  // copied from events_ each iteration
  std::atomic<uint64_t> events_lost_{0};
  std::atomic<uint64_t> queue_bytes_{0};
  std::atomic<uint64_t> queue_held_{0};
  std::atomic<uint64_t> open_connections_{0};
  std::atomic<uint64_t> connections_total_{0};
  std::atomic<uint64_t> connections_handed_off_{0};
};

template <typename T>
std::optional<T> Shard::Ask(Task<T> task, absl::Duration timeout) {
  if (!thread_.ready()) return std::nullopt;
  // Answers nullopt when the task and its reply are dropped unanswered (the shard stopped),
  // so the future never holds an exception; shared, so a late answer has a place to go.
  struct Slot {
    std::promise<std::optional<T>> promise;
    bool set = false;
    void Set(std::optional<T> value) {
      if (set) return;
      set = true;
      promise.set_value(std::move(value));
    }
    ~Slot() { Set(std::nullopt); }
  };
  auto slot = std::make_shared<Slot>();
  std::future<std::optional<T>> future = slot->promise.get_future();
  const bool posted = thread_.Post([this, task = std::move(task), slot]() mutable {
    if (shutting_down_) return;
    task(View(), [slot](T value) { slot->Set(std::move(value)); });
  });
  if (!posted) return std::nullopt;
  if (future.wait_for(absl::ToChronoNanoseconds(timeout)) != std::future_status::ready) {
    return std::nullopt;
  }
  return future.get();
}

}  // namespace tern::tools::ternd
