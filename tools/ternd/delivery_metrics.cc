// Implementation of tools/ternd/delivery_metrics.h.
#include "tools/ternd/delivery_metrics.h"

#include <atomic>

#include "tools/ternd/shard_metrics.h"

namespace tern::ternd {
namespace {

template <typename Counters>
struct Field {
  const char* name;
  core::MetricType type;
  const char* help;
  const std::atomic<uint64_t> Counters::*member;
};

template <typename Counters, typename CountersOf, size_t N>
void AppendFields(core::MetricsText* text, const std::vector<std::unique_ptr<Shard>>& shards,
                  const Field<Counters> (&fields)[N], CountersOf counters_of) {
  for (const Field<Counters>& f : fields) {
    AppendPerShard(text, shards, f.name, f.type, f.help, [&](const Shard& shard) {
      const Counters* c = counters_of(shard);
      return c == nullptr ? uint64_t{0} : Load(c->*f.member);
    });
  }
}

using D = delivery::DeliveryCounters;
constexpr Field<D> kDeliveryFields[] = {
    {"tern_delivery_messages_scheduled_total", core::MetricType::kCounter,
     "Delivery attempts of a message begun (first tries and retries).", &D::messages_scheduled},
    {"tern_delivery_transactions_total", core::MetricType::kCounter,
     "Outbound SMTP transactions completed.", &D::transactions},
    {"tern_delivery_recipients_delivered_total", core::MetricType::kCounter,
     "Recipients delivered (DELIVERED).", &D::recipients_delivered},
    {"tern_delivery_recipients_deferred_total", core::MetricType::kCounter,
     "Recipient attempts that failed temporarily (DEFERRED).", &D::recipients_deferred},
    {"tern_delivery_recipients_bounced_total", core::MetricType::kCounter,
     "Recipients that failed permanently (BOUNCED).", &D::recipients_bounced},
    {"tern_delivery_recipients_expired_total", core::MetricType::kCounter,
     "Recipients given up after --max_queue_lifetime (EXPIRED).", &D::recipients_expired},
    {"tern_delivery_recipients_deleted_total", core::MetricType::kCounter,
     "Recipients deleted by the operator (ternctl delete).", &D::recipients_deleted},
    {"tern_delivery_recipients_returned_total", core::MetricType::kCounter,
     "Recipients returned to their senders by the operator (ternctl bounce).",
     &D::recipients_bounced_by_operator},
    {"tern_delivery_dsns_queued_total", core::MetricType::kCounter,
     "Bounces (RFC 3464 DSNs) spooled to senders.", &D::dsns_queued},
    {"tern_delivery_connections_opened_total", core::MetricType::kCounter,
     "Outbound connections opened (through greeting and EHLO).", &D::connections_opened},
    {"tern_delivery_connections_reused_total", core::MetricType::kCounter,
     "Parked idle connections continued (by this shard or another).", &D::connections_reused},
    {"tern_delivery_dkim_signed_total", core::MetricType::kCounter,
     "Messages sent with a DKIM-Signature (each attempt signs anew).", &D::dkim_signed},
    {"tern_delivery_connect_failures_total", core::MetricType::kCounter,
     "Outbound connections that failed before EHLO completed.", &D::connect_failures},
    {"tern_delivery_record_failures_total", core::MetricType::kCounter,
     "Delivery results the spool could not record (retried).", &D::results_record_failures},
    {"tern_delivery_connections_open", core::MetricType::kGauge,
     "Outbound connections open or opening.", &D::active_connections},
    {"tern_delivery_messages_active", core::MetricType::kGauge,
     "Messages with a delivery in progress.", &D::active_messages},
    {"tern_delivery_messages_waiting_retry", core::MetricType::kGauge,
     "Messages waiting for their next attempt.", &D::waiting_retry},
};

using C = smtp::ClientCounters;
constexpr Field<C> kClientFields[] = {
    {"tern_client_messages_sent_total", core::MetricType::kCounter,
     "Message bodies sent after 354.", &C::messages_sent},
    {"tern_client_body_bytes_sent_total", core::MetricType::kCounter, "Stored body bytes sent.",
     &C::body_bytes_sent},
    {"tern_client_replies_malformed_total", core::MetricType::kCounter,
     "Malformed or oversized server replies.", &C::replies_malformed},
    {"tern_client_timeouts_total", core::MetricType::kCounter,
     "Waits for a server reply that timed out.", &C::timeouts},
    {"tern_client_tls_handshakes_total", core::MetricType::kCounter,
     "Outbound STARTTLS handshakes completed.", &C::tls_handshakes},
    {"tern_client_tls_handshake_failures_total", core::MetricType::kCounter,
     "Outbound STARTTLS handshakes that failed after the server's 220.",
     &C::tls_handshake_failures},
    {"tern_client_starttls_refused_total", core::MetricType::kCounter,
     "Opportunistic STARTTLS refused by the server (mail went in plaintext).",
     &C::starttls_refused},
};

using R = dns::ResolverCounters;
constexpr Field<R> kDnsFields[] = {
    {"tern_dns_queries_total", core::MetricType::kCounter, "DNS queries sent.", &R::queries_sent},
    {"tern_dns_cache_hits_total", core::MetricType::kCounter, "Lookups answered from the cache.",
     &R::cache_hits},
    {"tern_dns_coalesced_total", core::MetricType::kCounter,
     "Lookups that joined one already in flight.", &R::coalesced},
    {"tern_dns_nxdomain_total", core::MetricType::kCounter, "Lookups answered NXDOMAIN.",
     &R::nxdomain},
    {"tern_dns_unavailable_total", core::MetricType::kCounter,
     "Lookups that failed (SERVFAIL, timeout, refused).", &R::unavailable},
};

}  // namespace

void AppendDeliveryMetrics(core::MetricsText* text,
                           const std::vector<std::unique_ptr<Shard>>& shards) {
  AppendFields(text, shards, kDeliveryFields,
               [](const Shard& s) { return &s.delivery_counters(); });
  AppendFields(text, shards, kClientFields, [](const Shard& s) { return &s.client_counters(); });
  AppendFields(text, shards, kDnsFields, [](const Shard& s) -> const R* {
    return s.resolver() == nullptr ? nullptr : &s.resolver()->counters();
  });
}

}  // namespace tern::ternd
