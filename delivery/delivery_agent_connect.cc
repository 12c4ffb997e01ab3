// Connect attempts of delivery/delivery_agent.h: resolve the lane's next hop (MX, or the
// route's host), then try each host's addresses in order until one connection gets through
// the greeting and EHLO. A host that refuses, times out or greets with an error passes the
// attempt to the next address and the next MX; if every one fails and the lane has no
// connection left, its pending jobs are deferred (or bounced, when DNS says the domain
// cannot receive mail).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/log.h"
#include "delivery/delivery_agent.h"

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

void DeliveryAgent::BeginAttempt(Lane* lane) {
  ++lane->attempts;
  auto attempt = std::make_unique<ConnectAttempt>();
  attempt->lane = lane;
  if (!lane->nexthop.mx_lookup) {
    attempt->hosts.push_back(lane->nexthop.host);
    TryNextHost(std::move(attempt));
    return;
  }
  if (resolver_ == nullptr) {
    attempt->last_error = absl::FailedPreconditionError("no DNS resolver");
    FinishAttempt(std::move(attempt));
    return;
  }
  ++attempts_in_dns_;
  const std::string domain = lane->nexthop.host;
  resolver_->ResolveMx(
      domain, [this, attempt = std::move(attempt)](absl::StatusOr<dns::MxResult> mx) mutable {
        --attempts_in_dns_;
        ConnectAttempt* raw = attempt.get();
        if (!mx.ok()) {
          raw->last_error = mx.status();
          if (absl::IsNotFound(mx.status())) {
            raw->permanent = true;
            raw->code = 550;
            raw->enhanced = "5.1.2";
          } else {
            raw->enhanced = "4.4.3";
          }
          FinishAttempt(std::move(attempt));
          return;
        }
        if (mx->null_mx) {
          raw->last_error = absl::NotFoundError(
              absl::StrCat(raw->lane->nexthop.host, " accepts no mail (null MX, RFC 7505)"));
          raw->permanent = true;
          raw->code = 556;
          raw->enhanced = "5.1.10";
          FinishAttempt(std::move(attempt));
          return;
        }
        for (const dns::MxHost& host : mx->hosts) raw->hosts.push_back(host.host);
        TryNextHost(std::move(attempt));
      });
}

void DeliveryAgent::TryNextHost(std::unique_ptr<ConnectAttempt> attempt) {
  if (stopping_ || attempt->next_host >= attempt->hosts.size()) {
    FinishAttempt(std::move(attempt));
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
  if (resolver_ == nullptr) {
    attempt->last_error = absl::FailedPreconditionError("no DNS resolver");
    FinishAttempt(std::move(attempt));
    return;
  }
  ++attempts_in_dns_;
  const std::string host = attempt->host;
  resolver_->ResolveAddresses(host, [this, port, attempt = std::move(attempt)](
                                        absl::StatusOr<dns::AddressResult> found) mutable {
    --attempts_in_dns_;
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

void DeliveryAgent::TryNextAddress(std::unique_ptr<ConnectAttempt> attempt) {
  while (!stopping_ && attempt->next_address < attempt->addresses.size()) {
    const sockaddr_storage& to = attempt->addresses[attempt->next_address++];
    const smtp::StartTlsPolicy tls = attempt->lane->tls;
    net::DestinationKey key{
        .host = AddressText(to), .port = attempt->lane->nexthop.port, .tls = tls};
    std::shared_ptr<net::Destination> destination = pools_->Get(key);
    if (ResumeParked(destination, &attempt)) return;
    if (!destination->TryReserveConnection()) {
      attempt->at_limit = true;  // every shard together has enough open to it
      continue;
    }
    auto info = std::make_unique<ConnectionInfo>();
    info->connection = std::make_unique<OutboundConnection>(loop_, transport_, config_.client, this,
                                                            client_counters_);
    OutboundConnection* connection = info->connection.get();
    // An opportunistic destination whose last handshake failed gets plaintext for a while.
    const bool tls_broken =
        tls == smtp::StartTlsPolicy::kOpportunistic && destination->TlsBroken(absl::Now());
    connection->set_tls(config_.tls_client, tls_broken ? smtp::StartTlsPolicy::kNever : tls);
    connection->set_destination(std::move(destination));
    connection->host_name = attempt->host;
    connection->address = absl::StrCat(key.host, ":", key.port);
    info->lane = attempt->lane;
    info->attempt = std::move(attempt);
    connections_.emplace(connection, std::move(info));
    UpdateGauges();
    net::ConnectRequest request;
    request.to = to;
    request.to_length = to.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
    request.timeout = config_.connect_timeout;
    connection->Connect(request);
    return;
  }
  TryNextHost(std::move(attempt));
}

bool DeliveryAgent::ResumeParked(const std::shared_ptr<net::Destination>& destination,
                                 std::unique_ptr<ConnectAttempt>* attempt) {
  while (true) {
    std::vector<int> expired;
    std::optional<net::ParkedConnection> parked = destination->TakeIdle(absl::Now(), &expired);
    for (int fd : expired) {
      ::close(fd);
      destination->ConnectionClosed();
    }
    if (!parked.has_value()) return false;
    absl::StatusOr<smtp::ServerCapabilities> capabilities =
        smtp::ServerCapabilities::Parse(parked->capabilities);
    if (!capabilities.ok()) {
      ::close(parked->fd);
      destination->ConnectionClosed();
      continue;
    }
    auto info = std::make_unique<ConnectionInfo>();
    info->connection = std::make_unique<OutboundConnection>(loop_, transport_, config_.client, this,
                                                            client_counters_, *capabilities);
    OutboundConnection* connection = info->connection.get();
    connection->set_destination(destination);
    connection->host_name = (*attempt)->host;
    connection->address = absl::StrCat(destination->key().host, ":", destination->key().port);
    info->lane = (*attempt)->lane;
    info->reused = true;
    info->attempt = std::move(*attempt);
    connections_.emplace(connection, std::move(info));
    DeliveryCounters::Add(counters_->connections_reused);
    // OnConnectionReady() runs from inside: the connection joins the lane and takes a job.
    absl::Status resumed = connection->Resume(std::move(*parked));
    if (resumed.ok()) return true;
    // The socket is gone (closed by the transport): take the attempt back, try the next.
    *attempt = std::move(Info(connection).attempt);
    Destroy(connection);
  }
}

void DeliveryAgent::FinishAttempt(std::unique_ptr<ConnectAttempt> attempt) {
  Lane* lane = attempt->lane;
  --lane->attempts;
  if (stopping_) {
    DropLaneIfUnused(lane);
    return;
  }
  // Give the destination a moment before the next attempt (the maintenance timer clears it).
  lane->no_attempt_before = loop_->now() + config_.maintenance_interval;
  if (attempt->last_error.ok() && !attempt->hosts.empty()) {
    // Nothing failed: every address was at its connection limit. Jobs wait for a slot.
  } else if (lane->connections.empty() && lane->attempts == 0) {
    absl::Status why =
        attempt->last_error.ok()
            ? absl::UnavailableError(absl::StrCat(lane->nexthop.host, ": no mail exchanger"))
            : attempt->last_error;
    TERN_LOG(kInfo, "delivery to %s failed: %s", lane->key, why.message());
    FailLane(lane, attempt->code, attempt->enhanced, why, attempt->permanent);
  }
  DropLaneIfUnused(lane);
}

void DeliveryAgent::FailLane(Lane* lane, int code, absl::string_view enhanced,
                             const absl::Status& why, bool permanent) {
  std::deque<Job> jobs = std::move(lane->pending);
  lane->pending.clear();
  const std::string reason(why.message());
  const smtp::DeliveryOutcome outcome =
      permanent ? smtp::DeliveryOutcome::kPermFailed : smtp::DeliveryOutcome::kTempFailed;
  for (const Job& job : jobs) {
    for (size_t i = 0; i < job.recipients.size(); ++i)
      NoteDestinationResult(*lane, outcome, reason);
  }
  for (Job& job : jobs) {
    FailJob(std::move(job),
            permanent ? smtp::DeliveryOutcome::kPermFailed : smtp::DeliveryOutcome::kTempFailed,
            code, enhanced, reason, lane->nexthop.host);
  }
}

}  // namespace tern::delivery
