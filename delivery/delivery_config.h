// DeliveryConfig: what one shard's delivery agent needs to know, built once from ternd's
// flags (--route, --smarthost, --retry_schedule, --max_queue_lifetime, the per-destination
// limits and timeouts) and shared read-only by all shards.
#pragma once

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "delivery/bounce_classifier.h"
#include "delivery/dkim_signer.h"
#include "delivery/egress_config.h"
#include "delivery/route_table.h"
#include "delivery/tls_policy_table.h"
#include "net/smtp/client_session.h"
#include "net/tls/tls_context.h"
#include "queue/retry_schedule.h"
#include "suppression/bounce_tally.h"
#include "suppression/suppression_list.h"

namespace tern::delivery {

struct DeliveryConfig {
  RouteTable routes;
  queue::RetrySchedule retry;
  net::smtp::ClientConfig client;  // HELO name and RFC 5321 timeouts
  std::string reporting_mta;       // this relay's name in DSNs
  // Outbound STARTTLS: the client context (null: never) and the policy per next hop.
  std::shared_ptr<const net::tls::TlsContext> tls_client;
  TlsPolicyTable tls_policies;
  // DKIM keys (null: no signing).
  std::shared_ptr<const DkimSigner> dkim;
  absl::Duration connect_timeout = absl::Seconds(30);
  uint32_t max_connections_per_destination = 20;  // per shard too (all shards: the pools)
  uint32_t max_messages_per_connection = 1000;
  absl::Duration connection_idle_timeout = absl::Seconds(30);
  // How often lanes without connections are looked at again, idle connections expired.
  absl::Duration maintenance_interval = absl::Seconds(1);
  // Egress sources and pools (--egress_source, --egress_pool, ...); null: none configured.
  std::shared_ptr<const EgressConfig> egress;
  // Classes every failure (--bounce_rules, then the built-in rules); null: built-in only.
  std::shared_ptr<const BounceClassifier> bounce_classifier;
  // The suppression list (null: none): checked before each delivery, fed by hard bounces
  // (after suppress_after of them to one address; 0: never). suppressed_drop: a suppressed
  // recipient is dropped (DELETED, no DSN) rather than bounced.
  suppression::SuppressionList* suppression = nullptr;
  suppression::BounceTally* bounce_tally = nullptr;  // with suppress_after > 1
  int suppress_after = 1;
  bool suppressed_drop = false;
};

}  // namespace tern::delivery
