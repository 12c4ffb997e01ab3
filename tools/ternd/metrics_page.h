// MetricsPage: what ternd's GET /metrics answers, in the Prometheus text format: every
// shard's counters, gauges and histograms (SMTP server, queue, destinations, spool, and the
// delivery side from tools/ternd/delivery_metrics.h), then the process_* set
// (core/process_stats.h). Runs on the admin thread; counters are read with relaxed loads,
// destinations are asked of each shard.
//
//   std::string body = MetricsPage(shards, {.shaping = shaping, .suppression = list});
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "events/event_journal.h"
#include "events/webhook_sender.h"
#include "queue/shaping_state.h"
#include "suppression/suppression_list.h"
#include "tools/ternd/shard.h"

namespace tern::tools::ternd {

// What the page reads beyond the shards; each null leaves its families out.
struct MetricsSources {
  queue::ShapingState* shaping = nullptr;  // tern_shaping_* (tools/ternd/shaping_metrics.h)
  const suppression::SuppressionList* suppression = nullptr;  // tern_suppression_entries
  const events::EventJournal* events = nullptr;               // tern_events_*, tern_webhook_*
  const events::WebhookSender* webhook = nullptr;
};

std::string MetricsPage(const std::vector<std::unique_ptr<Shard>>& shards,
                        const MetricsSources& sources = {});

}  // namespace tern::tools::ternd
