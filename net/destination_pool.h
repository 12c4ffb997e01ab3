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
//   DestinationPools pools(limits);
//   std::shared_ptr<Destination> d = pools.Get(key);
//   if (auto idle = d->TakeIdle(now)) { adopt idle->fd ... }
//   else if (d->TryReserveConnection()) { connect ... on failure: d->ConnectionClosed(); }
//   ... after the transaction: d->Park(std::move(connection)) or d->ConnectionClosed();
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
  double max_messages_per_second = 0;               // 0: unlimited; token bucket, burst = 1 s worth
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
  Destination(DestinationKey key, const DestinationLimits& limits)
      : key_(std::move(key)), limits_(limits) {}

  const DestinationKey& key() const { return key_; }
  const DestinationLimits& limits() const { return limits_; }

  // Takes the most recently parked connection that is not past its idle timeout. Expired
  // ones found on the way are returned through `expired` (the caller closes them and calls
  // ConnectionClosed() for each).
  std::optional<ParkedConnection> TakeIdle(absl::Time now, std::vector<int>* expired);
  // True: a new connection may be opened (counted from now on).
  bool TryReserveConnection();
  // A connection (reserved or parked) is gone.
  void ConnectionClosed();
  // Parks an idle connection for any shard. False when it should be closed instead (the
  // per-connection message limit is reached or too many are parked): the caller closes it
  // and calls ConnectionClosed().
  bool Park(ParkedConnection connection);
  // Token bucket: true if one more message may start now.
  bool TryTakeSendToken(absl::Time now);
  // Closes idle connections past their timeout: returns their fds (caller closes and calls
  // ConnectionClosed() for each).
  std::vector<int> ExpireIdle(absl::Time now);

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

 private:
  const DestinationKey key_;
  const DestinationLimits limits_;
  mutable absl::Mutex mu_;
  uint32_t open_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<ParkedConnection> idle_ ABSL_GUARDED_BY(mu_);
  double tokens_ ABSL_GUARDED_BY(mu_) = -1;  // -1: bucket not started
  absl::Time tokens_at_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<SSL_SESSION> tls_session_ ABSL_GUARDED_BY(mu_);
  absl::Time tls_broken_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
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

 private:
  const DestinationLimits limits_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<DestinationKey, std::shared_ptr<Destination>> map_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tern::net
