// AppendEventMetrics: the tern_events_* and tern_webhook_* families of GET /metrics: the
// webhook's backlog on disk (events, bytes, the oldest one's age), what was appended, posted,
// acknowledged, dropped (by size, by age), lost (refused by the journal, or at recovery), and
// the sender's failures by kind. Nothing is written without --webhook.
//
//   AppendEventMetrics(&text, shards, journal, sender);
#pragma once

#include <memory>
#include <vector>

#include "core/metrics_text.h"
#include "events/event_journal.h"
#include "events/webhook_sender.h"
#include "tools/ternd/shard.h"

namespace tern::tools::ternd {

// `journal` and `sender` null: no webhook, no families.
void AppendEventMetrics(core::MetricsText* text, const std::vector<std::unique_ptr<Shard>>& shards,
                        const events::EventJournal* journal, const events::WebhookSender* sender);

}  // namespace tern::tools::ternd
