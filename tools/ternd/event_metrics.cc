// Implementation of tools/ternd/event_metrics.h.
#include "tools/ternd/event_metrics.h"

#include <cstdint>

#include "core/metrics_text.h"

namespace tern::tools::ternd {

namespace {

constexpr core::MetricType kCounter = core::MetricType::kCounter;
constexpr core::MetricType kGauge = core::MetricType::kGauge;

}  // namespace

void AppendEventMetrics(core::MetricsText* text, const std::vector<std::unique_ptr<Shard>>& shards,
                        const events::EventJournal* journal, const events::WebhookSender* sender) {
  if (journal == nullptr || sender == nullptr) return;
  const events::JournalMetrics j = journal->metrics();
  const events::WebhookSenderMetrics w = sender->metrics();
  uint64_t published = 0;
  uint64_t refused = 0;
  for (const auto& shard : shards) {
    published += shard->events_published();
    refused += shard->events_lost();
  }
  text->Family("tern_events_backlog_events", kGauge,
               "Events durable in the webhook's backlog and not yet acknowledged by it.");
  text->Sample({}, j.backlog_events);
  text->Family("tern_events_backlog_bytes", kGauge,
               "Bytes of the backlog's segment files (bounded by --webhook_backlog_max_bytes).");
  text->Sample({}, j.backlog_bytes);
  text->Family("tern_events_oldest_age_seconds", kGauge,
               "Age of the oldest unacknowledged event (0: the backlog is empty).");
  text->Sample(
      {}, core::Decimal(
              static_cast<uint64_t>(absl::ToInt64Microseconds(j.oldest_unacknowledged_age)), 6));
  text->Family("tern_events_journaled_total", kCounter,
               "Events the shards made durable in the backlog (before the mail state they "
               "describe).");
  text->Sample({}, published);
  text->Family("tern_events_acknowledged_total", kCounter,
               "Events the cursor moved past: acknowledged by the webhook (2xx) or given up.");
  text->Sample({}, j.acknowledged);
  text->Family("tern_events_dropped_total", kCounter,
               "Events never delivered to the webhook, by reason: age (older than "
               "--webhook_max_age), size (the backlog bound dropped its oldest segment), "
               "refused (the journal could not take them: queue full or a write failed), "
               "recovery (a corrupt backlog record at start).");
  text->Sample({{"reason", "age"}}, j.dropped_by_age);
  text->Sample({{"reason", "size"}}, j.dropped_by_size);
  text->Sample({{"reason", "refused"}}, refused);
  text->Sample({{"reason", "recovery"}}, j.lost_at_recovery);
  text->Family("tern_events_journal_syncs_total", kCounter,
               "Group commits (one write + one fdatasync) of the backlog.");
  text->Sample({}, j.syncs);
  text->Family("tern_webhook_posts_total", kCounter,
               "Webhook POSTs by result: ok (2xx), or the failure's kind (connect, tls, "
               "timeout, status: a non-2xx answer, protocol: a malformed answer, other).");
  text->Sample({{"result", "ok"}}, w.posted_batches);
  for (int kind = 0; kind < events::kWebhookFailureKinds; ++kind) {
    text->Sample(
        {{"result", events::WebhookFailureName(static_cast<events::WebhookFailure>(kind))}},
        w.failures[static_cast<size_t>(kind)]);
  }
  text->Family("tern_webhook_events_posted_total", kCounter,
               "Events in POSTs the webhook acknowledged.");
  text->Sample({}, w.posted_events);
  text->Family("tern_webhook_last_status", kGauge,
               "The HTTP status of the webhook's last answer (0: none yet).");
  text->Sample({}, static_cast<uint64_t>(w.last_status < 0 ? 0 : w.last_status));
  text->Family("tern_webhook_consecutive_failures", kGauge,
               "POSTs failed in a row (0: the last one was acknowledged).");
  text->Sample({}, w.consecutive_failures);
  text->Family("tern_webhook_backoff_seconds", kGauge,
               "The wait before the next retry after a failure (0: none).");
  text->Sample({}, core::Decimal(static_cast<uint64_t>(absl::ToInt64Microseconds(w.backoff)), 6));
}

}  // namespace tern::tools::ternd
