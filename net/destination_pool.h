// DestinationPools: the one structure shards share (DESIGN.md, "Threading"). Per outbound
// destination (MX host address, port, TLS policy, source address) it keeps the number of
// connections open across all shards, so --max_connections_per_destination holds for the
// process, and the idle established connections any shard may borrow.
//
// A parked connection is its socket, what its SMTP session learned (the EHLO capabilities)
// and, under TLS, its TLS session at rest (an engine with nothing buffered): the shard that
// parks it has nothing in flight on the socket, and the shard
// that takes it drives it on its own ring. A mutex per destination guards its entry; the map
// of destinations has its own mutex, held only to find or create an entry. Nothing here
// blocks on I/O.
//
// Each shard's part of a destination's limit is kept by net::ConnectionShares: while one
// shard waits for a slot the others hold at most their fair share, and a waiting shard is
// woken (net::PoolWakeups) as soon as a slot frees or a connection is parked, not at its
// next maintenance tick.
//
//   DestinationPools pools(limits);
//   pools.wakeups().Register(shard, wake);
//   std::shared_ptr<Destination> d = pools.Get(key);
//   if (auto idle = d->TakeIdle(now, shard)) { adopt idle->fd ... }
//   else if (d->TryReserveConnection(shard)) { connect ... on failure: d->ConnectionClosed(shard);
//   } else { the shard waits: wake runs when a slot may be free }
//   ... after the transaction: d->Park(std::move(connection), shard) or d->ConnectionClosed(shard);
//   ... d->ShouldYield(shard): another shard waits and this one holds more than its share.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "net/connection_shares.h"
#include "net/pool_wakeups.h"
#include "net/recent_wait_mark.h"
#include "net/slot_wait_board.h"
#include "net/smtp/client_session.h"
#include "net/tls/tls_engine.h"

namespace tern::net {

struct DestinationKey {
  std::string host;  // the address connected to, as text ("192.0.2.1", "2001:db8::1")
  uint16_t port = 25;
  smtp::StartTlsPolicy tls = smtp::StartTlsPolicy::kOpportunistic;
  std::string source;  // source address as text, empty: the kernel's choice
  bool operator==(const DestinationKey& other) const = default;
  template <typename H>
  friend H AbslHashValue(H h, const DestinationKey& k) {
    return H::combine(std::move(h), k.host, k.port, k.tls, k.source);
  }
  std::string ToString() const;
};

struct DestinationLimits {
  uint32_t max_connections = 20;  // open at once, all shards together
  uint32_t max_messages_per_connection = 1000;
  absl::Duration idle_timeout = absl::Seconds(30);  // a parked connection is closed after
  uint32_t max_idle = 64;                           // parked connections kept at most
};

// An established, idle outbound connection waiting for its next message.
struct ParkedConnection {
  int fd = -1;
  uint32_t messages_sent = 0;  // on this connection so far
  std::string capabilities;    // the SMTP client's serialized EHLO state
  absl::Time parked_at;
  std::unique_ptr<tls::TlsEngine> tls;  // the connection's TLS session; null: plaintext
};

class Destination {
 public:
  // `wakeups` (may be null: nobody is woken) must outlive the destination.
  Destination(DestinationKey key, const DestinationLimits& limits,
              const PoolWakeups* wakeups = nullptr)
      : key_(std::move(key)), limits_(limits), wakeups_(wakeups), shares_(limits.max_connections) {}

  const DestinationKey& key() const { return key_; }
  const DestinationLimits& limits() const { return limits_; }

  // For `shard`: the most recently parked connection that is not past its idle timeout
  // (expired ones found on the way are closed and counted out). None when nothing is parked,
  // or when `shard` holds its fair share while another shard waits (then it waits too).
  std::optional<ParkedConnection> TakeIdle(absl::Time now, uint32_t shard);
  // True: `shard` may open a new connection (counted from now on). False: the limit (or,
  // while another shard waits, this shard's share) is reached; `shard` waits and is woken
  // when a slot may be free.
  bool TryReserveConnection(uint32_t shard);
  // A connection of `shard` (reserved, opened or taken) is gone.
  void ConnectionClosed(uint32_t shard);
  // Parks an idle connection of `shard` for any shard. False when it should be closed
  // instead (the per-connection message limit is reached or too many are parked): the
  // caller closes it and calls ConnectionClosed(shard).
  bool Park(ParkedConnection connection, uint32_t shard);
  // Whether another shard waits and `shard` holds more than its fair share: it should park
  // a connection at its next chance (`leaving` of its connections already yielded, not yet
  // parked, not counted).
  bool ShouldYield(uint32_t shard, uint32_t leaving = 0) const;
  // Whether a shard other than `shard` waits for a slot.
  bool OthersWait(uint32_t shard) const;
  // `shard` needs no more connections to it for now.
  void StopWaiting(uint32_t shard);
  // Closes idle connections past their timeout and counts them out; returns how many.
  size_t ExpireIdle(absl::Time now);

  uint32_t open_connections() const;
  size_t idle_connections() const;

  // TLS session resumption: the session the last handshake to this destination got (any
  // shard), offered by the next new connection. Save takes the caller's reference; Take
  // returns a new one (the caller frees it), or null.
  void SaveTlsSession(SSL_SESSION* session);
  SSL_SESSION* TlsSessionForResumption() const;
  // An opportunistic STARTTLS whose handshake failed: the next connections go in plaintext
  // until `until` (as Postfix retries such a server without TLS).
  void MarkTlsBroken(absl::Time until);
  bool TlsBroken(absl::Time now) const;
  // The server answered a MAIL pipelined behind the previous end of data with 503: the
  // next connections do not pipeline transactions until `until`.
  void MarkPipeliningRefused(absl::Time until);
  bool PipeliningRefused(absl::Time now) const;

 private:
  void Tell(const std::vector<uint32_t>& shards, PoolWakeups::Reason why) const;

  const DestinationKey key_;
  const DestinationLimits limits_;
  const PoolWakeups* const wakeups_;
  mutable absl::Mutex mu_;
  uint32_t open_ ABSL_GUARDED_BY(mu_) = 0;        // the shards' and the parked ones
  ConnectionShares shares_ ABSL_GUARDED_BY(mu_);  // the shards' only
  RecentWaitMark recent_wait_;                    // read without mu_
  std::deque<ParkedConnection> idle_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<SSL_SESSION> tls_session_ ABSL_GUARDED_BY(mu_);
  absl::Time tls_broken_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time pipelining_refused_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

class DestinationPools {
 public:
  // Destinations remembered at most; beyond, idle entries (no connection open) are dropped.
  static constexpr size_t kDestinationsMax = 100'000;

  explicit DestinationPools(const DestinationLimits& limits) : limits_(limits) {}
  // The entry for `key`, created on first use. Shared: valid as long as the caller holds it.
  std::shared_ptr<Destination> Get(const DestinationKey& key);
  size_t size() const;
  // Every destination's entry (for metrics and ternctl stats).
  std::vector<std::shared_ptr<Destination>> Snapshot() const;
  // How destinations wake the shards (each shard registers itself).
  PoolWakeups& wakeups() { return wakeups_; }
  // The shards' shares of shaping scopes' connection limits (they wake through wakeups()).
  SlotWaitBoard& slot_board() { return slot_board_; }

 private:
  const DestinationLimits limits_;
  PoolWakeups wakeups_;
  SlotWaitBoard slot_board_{&wakeups_};
  mutable absl::Mutex mu_;
  absl::flat_hash_map<DestinationKey, std::shared_ptr<Destination>> map_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tern::net
