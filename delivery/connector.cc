// Implementation of delivery/connector.h.
#include "delivery/connector.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/check.h"
#include "core/log.h"

namespace tern::delivery {
namespace {

// An IP literal as a sockaddr with `port`, or nullopt.
std::optional<sockaddr_storage> LiteralAddress(const std::string& host, uint16_t port) {
  sockaddr_storage out{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    return out;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out);
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    return out;
  }
  return std::nullopt;
}

std::string AddressText(const sockaddr_storage& address) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&address);
    inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof(text));
    return text;
  }
  const auto* v4 = reinterpret_cast<const sockaddr_in*>(&address);
  inet_ntop(AF_INET, &v4->sin_addr, text, sizeof(text));
  return text;
}

}  // namespace

Connector::Connector(const ConnectorDeps& deps)
    : loop_(deps.loop),
      transport_(deps.transport),
      resolver_(deps.resolver),
      pools_(deps.pools),
      shard_(deps.shard),
      config_(*deps.config),
      counters_(deps.counters),
      client_counters_(deps.client_counters),
      connection_owner_(deps.connection_owner),
      owner_(deps.owner) {
  CHECK(loop_ != nullptr && transport_ != nullptr && pools_ != nullptr);
  CHECK(counters_ != nullptr && connection_owner_ != nullptr && owner_ != nullptr);
}

bool Connector::FinishedWithoutResolver(std::unique_ptr<ConnectAttempt>* attempt) {
  if (resolver_ != nullptr) return false;
  (*attempt)->last_error = absl::FailedPreconditionError("no DNS resolver");
  Finish(std::move(*attempt));
  return true;
}

void Connector::Begin(Lane* lane, queue::ConnectionLease lease) {
  ++lane->attempts;
  ++attempts_begun_;
  auto attempt = std::make_unique<ConnectAttempt>();
  attempt->lane = lane;
  attempt->lease = std::move(lease);
  if (!lane->nexthop.mx_lookup) {
    attempt->hosts.push_back(lane->nexthop.host);
    TryNextHost(std::move(attempt));
    return;
  }
  if (FinishedWithoutResolver(&attempt)) return;
  ++in_dns_;
  const std::string domain = lane->nexthop.host;
  resolver_->ResolveMx(
      domain, [this, attempt = std::move(attempt)](absl::StatusOr<net::dns::MxResult> mx) mutable {
        --in_dns_;
        OnMxResolved(std::move(attempt), std::move(mx));
      });
}

void Connector::OnMxResolved(std::unique_ptr<ConnectAttempt> attempt,
                             absl::StatusOr<net::dns::MxResult> mx) {
  if (!mx.ok()) {
    attempt->last_error = mx.status();
    if (absl::IsNotFound(mx.status())) {
      attempt->permanent = true;
      attempt->code = 550;
      attempt->enhanced = "5.1.2";
    } else {
      attempt->enhanced = "4.4.3";
    }
    Finish(std::move(attempt));
    return;
  }
  if (mx->null_mx) {
    attempt->last_error = absl::NotFoundError(
        absl::StrCat(attempt->lane->nexthop.host, " accepts no mail (null MX, RFC 7505)"));
    attempt->permanent = true;
    attempt->code = 556;
    attempt->enhanced = "5.1.10";
    Finish(std::move(attempt));
    return;
  }
  for (const net::dns::MxHost& host : mx->hosts) attempt->hosts.push_back(host.host);
  TryNextHost(std::move(attempt));
}

void Connector::Continue(std::unique_ptr<ConnectAttempt> attempt) {
  TryNextAddress(std::move(attempt));
}

void Connector::TryNextHost(std::unique_ptr<ConnectAttempt> attempt) {
  if (stopping_ || attempt->next_host >= attempt->hosts.size()) {
    Finish(std::move(attempt));
    return;
  }
  attempt->host = attempt->hosts[attempt->next_host++];
  attempt->addresses.clear();
  attempt->next_address = 0;
  const uint16_t port = attempt->lane->nexthop.port;
  if (std::optional<sockaddr_storage> literal = LiteralAddress(attempt->host, port)) {
    attempt->addresses.push_back(*literal);
    TryNextAddress(std::move(attempt));
    return;
  }
  if (FinishedWithoutResolver(&attempt)) return;
  ++in_dns_;
  const std::string host = attempt->host;
  resolver_->ResolveAddresses(host, [this, port, attempt = std::move(attempt)](
                                        absl::StatusOr<net::dns::AddressResult> found) mutable {
    --in_dns_;
    if (!found.ok()) {
      attempt->last_error = found.status();
      attempt->enhanced = "4.4.3";
      TryNextHost(std::move(attempt));
      return;
    }
    attempt->addresses = found->Sockaddrs(port);
    TryNextAddress(std::move(attempt));
  });
}

void Connector::TryNextAddress(std::unique_ptr<ConnectAttempt> attempt) {
  while (!stopping_ && attempt->next_address < attempt->addresses.size()) {
    const sockaddr_storage& to = attempt->addresses[attempt->next_address++];
    const EgressSource* egress = attempt->lane->egress;
    if (egress != nullptr && egress->address.ss_family != to.ss_family) {
      continue;  // the source has no address of this family
    }
    ++addresses_tried_;
    const net::smtp::StartTlsPolicy tls = attempt->lane->tls;
    net::DestinationKey key{.host = AddressText(to),
                            .port = attempt->lane->nexthop.port,
                            .tls = tls,
                            .source = egress != nullptr ? AddressText(egress->address) : ""};
    std::shared_ptr<net::Destination> destination = pools_->Get(key);
    if (ResumeParked(destination, &attempt)) return;
    if (!destination->TryReserveConnection(shard_)) {
      attempt->at_limit = true;  // every shard together has enough open to it
      continue;
    }
    auto owned = std::make_unique<OutboundConnection>(loop_, transport_, *attempt->lane->client,
                                                      connection_owner_, client_counters_);
    OutboundConnection* connection = owned.get();
    // An opportunistic destination whose last handshake failed gets plaintext for a while.
    const bool tls_broken =
        tls == net::smtp::StartTlsPolicy::kOpportunistic && destination->TlsBroken(absl::Now());
    connection->set_tls(config_.tls_client, tls_broken ? net::smtp::StartTlsPolicy::kNever : tls);
    connection->set_destination(std::move(destination), shard_);
    connection->host_name = attempt->host;
    connection->address = absl::StrCat(key.host, ":", key.port);
    owner_->AdoptConnection(std::move(owned), std::move(attempt), /*reused=*/false);
    net::ConnectRequest request;
    request.to = to;
    request.to_length = to.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
    request.timeout = config_.connect_timeout;
    if (egress != nullptr) {
      request.from = egress->address;
      request.from_length = egress->address_length;
    }
    connection->Connect(request);
    return;
  }
  TryNextHost(std::move(attempt));
}

bool Connector::ResumeParked(const std::shared_ptr<net::Destination>& destination,
                             std::unique_ptr<ConnectAttempt>* attempt) {
  while (true) {
    std::optional<net::ParkedConnection> parked = destination->TakeIdle(absl::Now(), shard_);
    if (!parked.has_value()) return false;
    absl::StatusOr<net::smtp::ServerCapabilities> capabilities =
        net::smtp::ServerCapabilities::Parse(parked->capabilities);
    if (!capabilities.ok()) {
      ::close(parked->fd);
      destination->ConnectionClosed(shard_);
      continue;
    }
    auto owned =
        std::make_unique<OutboundConnection>(loop_, transport_, *(*attempt)->lane->client,
                                             connection_owner_, client_counters_, *capabilities);
    OutboundConnection* connection = owned.get();
    connection->set_destination(destination, shard_);
    connection->host_name = (*attempt)->host;
    connection->address = absl::StrCat(destination->key().host, ":", destination->key().port);
    owner_->AdoptConnection(std::move(owned), std::move(*attempt), /*reused=*/true);
    DeliveryCounters::Add(counters_->connections_reused);
    // OnConnectionReady() runs from inside: the connection joins the lane and takes a job.
    absl::Status resumed = connection->Resume(std::move(*parked));
    if (resumed.ok()) return true;
    // The socket is gone (closed by the transport): take the attempt back, try the next.
    *attempt = owner_->ReclaimAttempt(connection);
  }
}

void Connector::Finish(std::unique_ptr<ConnectAttempt> attempt) {
  owner_->OnAttemptFinished(std::move(attempt));
}

}  // namespace tern::delivery
