// Connector: opens connections for a lane. It resolves the lane's next hop (the domain's MX
// hosts, or the route's host), then tries each host's addresses in order; for each address
// it first continues an idle connection some shard parked for it (net::DestinationPools),
// else reserves a slot under the process-wide connection limit and connects. A host that
// refuses, times out or greets with an error passes the attempt to the next address and the
// next MX; when nothing is left the attempt finishes with the last error (or, for NXDOMAIN
// and null MX, a permanent one).
//
//   connector.Begin(lane);   // counts in lane->attempts until the owner takes it off
//   owner: AdoptConnection(connection, attempt, reused)  -> registers it; its callbacks
//          tell whether it got through the greeting and EHLO;
//          on failure before that: connector.Continue(std::move(attempt))
//          OnAttemptFinished(attempt)  -> every address tried (or DNS said no)
//
// Single-threaded: everything runs on the shard's loop.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/loop.h"
#include "delivery/delivery_config.h"
#include "delivery/delivery_counters.h"
#include "delivery/lane.h"
#include "delivery/outbound_connection.h"
#include "net/destination_pool.h"
#include "net/dns/resolver.h"
#include "net/smtp/client_counters.h"
#include "net/transport.h"
#include "queue/throttle_path.h"

namespace tern::delivery {

// A connection being opened for a lane: the hosts to try and where we are.
struct ConnectAttempt {
  Lane* lane = nullptr;
  std::vector<std::string> hosts;  // MX hosts (or the route's host) in order
  size_t next_host = 0;
  std::string host;                         // the host being tried
  std::vector<sockaddr_storage> addresses;  // of `host`, in order
  size_t next_address = 0;
  absl::Status last_error;  // why the last host or address failed
  bool permanent = false;   // the domain cannot receive mail (NXDOMAIN, null MX)
  bool at_limit = false;    // some address was skipped for its connection limit
  int code = 451;           // the reply the lane's jobs get if every host failed
  std::string enhanced = "4.4.1";
  // The connection slots the lane's throttle path granted this attempt (kept by the
  // connection it makes, released when that closes or the attempt fails).
  queue::ConnectionLease lease;
};

class ConnectorOwner {
 public:
  virtual ~ConnectorOwner() = default;
  // A connection made for `attempt`, to be owned from now on: new (its Connect() follows
  // right after this call) or `reused` (Resume() follows, which may call it ready at once).
  virtual void AdoptConnection(std::unique_ptr<OutboundConnection> connection,
                               std::unique_ptr<ConnectAttempt> attempt, bool reused) = 0;
  // A reused connection whose socket was gone: the attempt back, the connection destroyed.
  virtual std::unique_ptr<ConnectAttempt> ReclaimAttempt(OutboundConnection* connection) = 0;
  // Every host and address tried, or the next hop could not be resolved.
  virtual void OnAttemptFinished(std::unique_ptr<ConnectAttempt> attempt) = 0;
};

struct ConnectorDeps {
  core::Loop* loop = nullptr;
  net::Transport* transport = nullptr;
  net::dns::Resolver* resolver = nullptr;  // may be null when every route is an IP literal
  net::DestinationPools* pools = nullptr;
  uint32_t shard = 0;  // this shard's number in the pools' connection shares
  const DeliveryConfig* config = nullptr;
  DeliveryCounters* counters = nullptr;
  net::smtp::ClientCounters* client_counters = nullptr;
  OutboundConnectionOwner* connection_owner = nullptr;  // hears each connection's events
  ConnectorOwner* owner = nullptr;
};

class Connector {
 public:
  explicit Connector(const ConnectorDeps& deps);
  Connector(const Connector&) = delete;
  Connector& operator=(const Connector&) = delete;

  // Starts an attempt for `lane` (++lane->attempts), holding `lease` (its connection slots).
  void Begin(Lane* lane, queue::ConnectionLease lease = {});
  // The connection of `attempt` failed before it was ready: the next address or host.
  void Continue(std::unique_ptr<ConnectAttempt> attempt);
  // Shutdown: running attempts finish without trying further addresses.
  void Stop() { stopping_ = true; }
  // Attempts waiting for the resolver.
  size_t in_dns() const { return in_dns_; }

  // Counters, for tests.
  uint64_t attempts_begun() const { return attempts_begun_; }
  uint64_t addresses_tried() const { return addresses_tried_; }

 private:
  void OnMxResolved(std::unique_ptr<ConnectAttempt> attempt, absl::StatusOr<net::dns::MxResult> mx);
  void TryNextHost(std::unique_ptr<ConnectAttempt> attempt);
  void TryNextAddress(std::unique_ptr<ConnectAttempt> attempt);
  // Continues a connection some shard parked for `destination`, if there is one: true when
  // it took the attempt (now the connection's).
  bool ResumeParked(const std::shared_ptr<net::Destination>& destination,
                    std::unique_ptr<ConnectAttempt>* attempt);
  void Finish(std::unique_ptr<ConnectAttempt> attempt);
  // Without a resolver (every route an IP literal) a name cannot be looked up: finishes
  // the attempt with that error and returns true.
  bool FinishedWithoutResolver(std::unique_ptr<ConnectAttempt>* attempt);

  core::Loop* const loop_;
  net::Transport* const transport_;
  net::dns::Resolver* const resolver_;
  net::DestinationPools* const pools_;
  const uint32_t shard_;
  const DeliveryConfig& config_;
  DeliveryCounters* const counters_;
  net::smtp::ClientCounters* const client_counters_;
  OutboundConnectionOwner* const connection_owner_;
  ConnectorOwner* const owner_;
  bool stopping_ = false;
  size_t in_dns_ = 0;
  uint64_t attempts_begun_ = 0;
  uint64_t addresses_tried_ = 0;
};

}  // namespace tern::delivery
