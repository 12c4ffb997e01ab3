// Implementation of tools/ternd/delivery_metrics.h.
#include "tools/ternd/delivery_metrics.h"

#include <atomic>
#include <cmath>

#include "tools/ternd/shard_metrics.h"

namespace tern::tools::ternd {
namespace {

constexpr core::MetricType kCounter = core::MetricType::kCounter;
constexpr core::MetricType kGauge = core::MetricType::kGauge;

using D = delivery::DeliveryCounters;
constexpr CounterField<D> kDeliveryFields[] = {
    {"tern_delivery_messages_scheduled_total", kCounter,
     "Delivery attempts of a message begun (first tries and retries).", &D::messages_scheduled},
    {"tern_delivery_transactions_total", kCounter, "Outbound SMTP transactions completed.",
     &D::transactions},
    {"tern_delivery_dsns_queued_total", kCounter, "Bounces (RFC 3464 DSNs) spooled to senders.",
     &D::dsns_queued},
    {"tern_suppression_added_total", kCounter,
     "Hard bounces put on the suppression list (--suppress_after), by result: added, or "
     "failed (the list could not take them; logged).",
     &D::suppressions_added, "result", "added"},
    {"tern_suppression_added_total", kCounter, "", &D::suppression_feed_failures, "result",
     "failed"},
    {"tern_delivery_connections_total", kCounter,
     "Outbound connections taken into use: opened (through greeting and EHLO), reused (a "
     "parked idle connection continued, by this shard or another) or failed (before EHLO "
     "completed).",
     &D::connections_opened, "result", "opened"},
    {"tern_delivery_connections_total", kCounter, "", &D::connections_reused, "result", "reused"},
    {"tern_delivery_connections_total", kCounter, "", &D::connect_failures, "result", "failed"},
    {"tern_delivery_connections_lent_total", kCounter,
     "Idle outbound connections passed from one domain's lane to another's of the same site "
     "(same MX hosts, source, port and TLS policy: MX rollup).",
     &D::connections_lent},
    {"tern_delivery_connections_yielded_total", kCounter,
     "Outbound connections parked for another shard that waited for their destination (a "
     "shard holds at most its fair share of a destination's connection limit while another "
     "waits).",
     &D::connections_yielded},
    {"tern_delivery_connections_freed_total", kCounter,
     "Idle outbound connections closed because another destination waited for a "
     "connection limit they share (an egress source's or a provider's connection_limit).",
     &D::connections_freed},
    {"tern_delivery_dkim_signed_total", kCounter,
     "Messages sent with a DKIM-Signature (each attempt signs anew, once for all its jobs).",
     &D::dkim_signed},
    {"tern_delivery_message_reads_total", kCounter,
     "Stored messages read from the spool (and signed) for delivery: once per attempt for "
     "all of its jobs while they are kept.",
     &D::message_reads},
    {"tern_delivery_message_reads_shared_total", kCounter,
     "Jobs that used another job's read of the same attempt (recipients at several next "
     "hops) instead of reading the spool again.",
     &D::message_reads_shared},
    {"tern_delivery_message_reads_ahead_total", kCounter,
     "Of the reads, those started while a connection of the lane was sending, for the "
     "lane's next job (it finds its message read when the connection is free).",
     &D::message_reads_ahead},
    {"tern_delivery_record_failures_total", kCounter,
     "Delivery results the spool could not record (retried).", &D::results_record_failures},
    {"tern_delivery_open_connections", kGauge, "Outbound connections open or opening.",
     &D::active_connections},
    {"tern_delivery_messages", kGauge,
     "Messages in the delivery agent's hands: a delivery in progress (active) or waiting for "
     "their next attempt (waiting_retry).",
     &D::active_messages, "state", "active"},
    {"tern_delivery_messages", kGauge, "", &D::waiting_retry, "state", "waiting_retry"},
};

// Recipients by result; a failure's series carry its bounce class too.
void AppendRecipientResults(core::MetricsText* text, const Shards& shards) {
  text->Family("tern_delivery_recipients_total", kCounter,
               "Recipients by result: delivered, deferred (an attempt failed temporarily), "
               "bounced (failed permanently), expired (given up after --max_queue_lifetime), "
               "deleted (ternctl delete), returned to the sender (ternctl bounce) or suppressed "
               "(on the suppression list: not sent). Deferred, "
               "bounced and expired are split by bounce class (class=\"bad-mailbox\", ...).");
  for (const auto& [result, member] : {std::pair<const char*, const std::atomic<uint64_t> D::*>{
                                           "delivered", &D::recipients_delivered},
                                       {"deleted", &D::recipients_deleted},
                                       {"returned", &D::recipients_bounced_by_operator},
                                       {"suppressed", &D::recipients_suppressed}}) {
    for (const auto& shard : shards) {
      text->Sample({{"shard", ShardLabel(*shard)}, {"result", result}},
                   Load(shard->delivery_counters().*member));
    }
  }
  for (const auto& [result, name] : {std::pair<delivery::FailedResult, const char*>{
                                         delivery::FailedResult::kDeferred, "deferred"},
                                     {delivery::FailedResult::kBounced, "bounced"},
                                     {delivery::FailedResult::kExpired, "expired"}}) {
    for (size_t i = 0; i < delivery::kBounceClassCount; ++i) {
      const auto bounce_class = static_cast<delivery::BounceClass>(i);
      for (const auto& shard : shards) {
        text->Sample({{"shard", ShardLabel(*shard)},
                      {"result", name},
                      {"class", delivery::BounceClassName(bounce_class)}},
                     Load(shard->delivery_counters().FailuresOf(result, bounce_class)));
      }
    }
  }
}

using C = net::smtp::ClientCounters;
constexpr CounterField<C> kClientFields[] = {
    {"tern_client_messages_sent_total", kCounter, "Message bodies sent after 354 or with BDAT.",
     &C::messages_sent},
    {"tern_client_sent_bytes_total", kCounter, "Stored body bytes sent.", &C::body_bytes_sent},
    {"tern_client_malformed_replies_total", kCounter, "Malformed or oversized server replies.",
     &C::replies_malformed},
    {"tern_client_timeouts_total", kCounter, "Waits for a server reply that timed out.",
     &C::timeouts},
    {"tern_client_starttls_refused_total", kCounter,
     "Opportunistic STARTTLS refused by the server (mail went in plaintext).",
     &C::starttls_refused},
    {"tern_client_transactions_pipelined_total", kCounter,
     "Transactions pipelined behind the previous one's end of data (RFC 2920 / RFC 3030).",
     &C::transactions_pipelined},
    {"tern_client_pipelining_refused_total", kCounter,
     "Pipelined transactions whose MAIL the server refused for being pipelined (sent again).",
     &C::pipelining_refused},
};

using R = net::dns::ResolverCounters;
constexpr CounterField<R> kDnsFields[] = {
    {"tern_dns_queries_total", kCounter, "DNS queries sent (an address lookup sends two).",
     &R::queries_sent},
    {"tern_dns_cache_hits_total", kCounter, "Lookups answered from the cache.", &R::cache_hits},
    {"tern_dns_coalesced_lookups_total", kCounter, "Lookups that joined one already in flight.",
     &R::coalesced},
    {"tern_dns_lookup_failures_total", kCounter,
     "Lookups that failed, by reason: nxdomain, or unavailable (SERVFAIL, timeout, refused).",
     &R::nxdomain, "reason", "nxdomain"},
    {"tern_dns_lookup_failures_total", kCounter, "", &R::unavailable, "reason", "unavailable"},
};

// Seconds from a message's arrival to a recipient's delivery; bounds and sum kept in
// milliseconds, written exactly.
void AppendDeliveryDelay(core::MetricsText* text, const Shards& shards) {
  std::vector<std::string> bounds;
  for (const double bound : delivery::kDeliveryDelayBoundsSeconds) {
    bounds.push_back(core::ShortDecimal(static_cast<uint64_t>(std::llround(bound * 1000)), 3));
  }
  AppendHistogram(
      text, shards, "tern_delivery_delay_seconds",
      "From a message's arrival to the delivery of a recipient (retries included).", bounds,
      [](const Shard& s, size_t i) {
        return Load(s.delivery_counters().delivery_delay_histogram[i]);
      },
      [](const Shard& s) {
        return core::Decimal(Load(s.delivery_counters().delivery_delay_sum_ms), 3);
      });
}

}  // namespace

void AppendDeliveryMetrics(core::MetricsText* text, const Shards& shards) {
  AppendRecipientResults(text, shards);
  AppendFields(text, shards, kDeliveryFields,
               [](const Shard& s) { return &s.delivery_counters(); });
  AppendDeliveryDelay(text, shards);
  AppendFields(text, shards, kClientFields, [](const Shard& s) { return &s.client_counters(); });
  AppendFields(text, shards, kDnsFields, [](const Shard& s) -> const R* {
    return s.resolver() == nullptr ? nullptr : &s.resolver()->counters();
  });
}

}  // namespace tern::tools::ternd
