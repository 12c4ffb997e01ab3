// Implementation of tools/ternd/delivery_metrics.h.
#include "tools/ternd/delivery_metrics.h"

#include <atomic>

#include "absl/strings/str_cat.h"

namespace tern::ternd {
namespace {

template <typename Counters>
struct Field {
  const char* name;
  const char* type;
  const char* help;
  const std::atomic<uint64_t> Counters::*member;
};

template <typename Counters, typename CountersOf, size_t N>
void AppendFields(std::string* out, const std::vector<std::unique_ptr<Shard>>& shards,
                  const Field<Counters> (&fields)[N], CountersOf counters_of) {
  for (const Field<Counters>& f : fields) {
    absl::StrAppend(out, "# HELP ", f.name, " ", f.help, "\n# TYPE ", f.name, " ", f.type, "\n");
    for (const auto& shard : shards) {
      const Counters* c = counters_of(*shard);
      const uint64_t value = c == nullptr ? 0 : (c->*f.member).load(std::memory_order_relaxed);
      absl::StrAppend(out, f.name, "{shard=\"", shard->id(), "\"} ", value, "\n");
    }
  }
}

using D = delivery::DeliveryCounters;
constexpr Field<D> kDeliveryFields[] = {
    {"tern_delivery_messages_scheduled_total", "counter",
     "Delivery attempts of a message begun (first tries and retries).", &D::messages_scheduled},
    {"tern_delivery_transactions_total", "counter", "Outbound SMTP transactions completed.",
     &D::transactions},
    {"tern_delivery_recipients_delivered_total", "counter", "Recipients delivered (DELIVERED).",
     &D::recipients_delivered},
    {"tern_delivery_recipients_deferred_total", "counter",
     "Recipient attempts that failed temporarily (DEFERRED).", &D::recipients_deferred},
    {"tern_delivery_recipients_bounced_total", "counter",
     "Recipients that failed permanently (BOUNCED).", &D::recipients_bounced},
    {"tern_delivery_recipients_expired_total", "counter",
     "Recipients given up after --max_queue_lifetime (EXPIRED).", &D::recipients_expired},
    {"tern_delivery_recipients_deleted_total", "counter",
     "Recipients deleted by the operator (ternctl delete).", &D::recipients_deleted},
    {"tern_delivery_recipients_returned_total", "counter",
     "Recipients returned to their senders by the operator (ternctl bounce).",
     &D::recipients_bounced_by_operator},
    {"tern_delivery_dsns_queued_total", "counter", "Bounces (RFC 3464 DSNs) spooled to senders.",
     &D::dsns_queued},
    {"tern_delivery_connections_opened_total", "counter",
     "Outbound connections opened (through greeting and EHLO).", &D::connections_opened},
    {"tern_delivery_connections_reused_total", "counter",
     "Parked idle connections continued (by this shard or another).", &D::connections_reused},
    {"tern_delivery_dkim_signed_total", "counter",
     "Messages sent with a DKIM-Signature (each attempt signs anew).", &D::dkim_signed},
    {"tern_delivery_connect_failures_total", "counter",
     "Outbound connections that failed before EHLO completed.", &D::connect_failures},
    {"tern_delivery_record_failures_total", "counter",
     "Delivery results the spool could not record (retried).", &D::results_record_failures},
    {"tern_delivery_connections_open", "gauge", "Outbound connections open or opening.",
     &D::active_connections},
    {"tern_delivery_messages_active", "gauge", "Messages with a delivery in progress.",
     &D::active_messages},
    {"tern_delivery_messages_waiting_retry", "gauge", "Messages waiting for their next attempt.",
     &D::waiting_retry},
};

using C = smtp::ClientCounters;
constexpr Field<C> kClientFields[] = {
    {"tern_client_messages_sent_total", "counter", "Message bodies sent after 354.",
     &C::messages_sent},
    {"tern_client_body_bytes_sent_total", "counter", "Stored body bytes sent.",
     &C::body_bytes_sent},
    {"tern_client_replies_malformed_total", "counter", "Malformed or oversized server replies.",
     &C::replies_malformed},
    {"tern_client_timeouts_total", "counter", "Waits for a server reply that timed out.",
     &C::timeouts},
    {"tern_client_tls_handshakes_total", "counter", "Outbound STARTTLS handshakes completed.",
     &C::tls_handshakes},
    {"tern_client_tls_handshake_failures_total", "counter",
     "Outbound STARTTLS handshakes that failed after the server's 220.",
     &C::tls_handshake_failures},
    {"tern_client_starttls_refused_total", "counter",
     "Opportunistic STARTTLS refused by the server (mail went in plaintext).",
     &C::starttls_refused},
};

using R = dns::ResolverCounters;
constexpr Field<R> kDnsFields[] = {
    {"tern_dns_queries_total", "counter", "DNS queries sent.", &R::queries_sent},
    {"tern_dns_cache_hits_total", "counter", "Lookups answered from the cache.", &R::cache_hits},
    {"tern_dns_coalesced_total", "counter", "Lookups that joined one already in flight.",
     &R::coalesced},
    {"tern_dns_nxdomain_total", "counter", "Lookups answered NXDOMAIN.", &R::nxdomain},
    {"tern_dns_unavailable_total", "counter", "Lookups that failed (SERVFAIL, timeout, refused).",
     &R::unavailable},
};

}  // namespace

void AppendDeliveryMetrics(std::string* out, const std::vector<std::unique_ptr<Shard>>& shards) {
  AppendFields(out, shards, kDeliveryFields, [](const Shard& s) { return &s.delivery_counters(); });
  AppendFields(out, shards, kClientFields, [](const Shard& s) { return &s.client_counters(); });
  AppendFields(out, shards, kDnsFields, [](const Shard& s) -> const R* {
    return s.resolver() == nullptr ? nullptr : &s.resolver()->counters();
  });
}

}  // namespace tern::ternd
