// AdminApi: what ternd's admin endpoint answers (runs on the admin thread). Listings and
// reports are JSON, or aligned text with format=text (what ternctl prints without --json).
//   GET  /metrics                    Prometheus text format (tools/ternd/metrics_page.h)
//   GET  /queue?FILTER&limit=N       queued messages (filters: queue/queue_filter.h;
//                                    format=jsonl: one message per line)
//   GET  /message?id=ID              one message: envelope, headers, attempts and replies
//   GET  /message?id=ID&body=1       the stored message itself (dot-stuffing undone, text)
//   GET  /qshape?FILTER&top=N        messages by destination domain and age (queue_shape.h)
//   GET  /config                     the flags that differ from their defaults
//                                    (flag_report.h; secrets hidden)
//                                    (/queue, /qshape, /config: format=jsonl, one object
//                                    per line)
//   POST /hold|/release|/flush|/delete|/bounce?FILTER
//                                    change the selected messages (delete and bounce need a
//                                    filter or all=1; flush without one means every message;
//                                    bounce takes reason=TEXT for the DSN's diagnostic;
//                                    hold takes duration=SECONDS, then released by itself)
//   GET  /stats                      per shard and per destination, rates over the last minute
//   GET  /healthz                    "ok"
//   GET  /                           the live status page (tools/ternd/status_page.h)
//   GET  /status.json[?shards=1]     what it draws (shards=1: each destination's per-shard split)
//   GET  /shaping[?destination=D][&source=S]   the shaping policy, suspensions, overrides,
//                                    troubled sites, throttles (tools/ternd/shaping_report.h)
//   POST /suspend?domain=D|provider=P|site=S[&source=X]&duration=SECONDS&reason=TEXT
//   POST /resume?domain=D|provider=P|site=S[&source=X]
//                                    suspend or resume that scope (cause "ternctl")
//   GET  /classify?reply=TEXT        the bounce class the rules in force give a reply
//                                    ("550 5.1.1 text"), and the rule or code that decided
//   GET  /suppressions, /suppressions/export, POST /suppress, /unsuppress,
//   /suppressions/import             the suppression list (tools/ternd/suppression_api.h)
#pragma once

#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "events/event_journal.h"
#include "events/webhook_sender.h"
#include "net/admin_server.h"
#include "net/http_query.h"
#include "suppression/suppression_list.h"
#include "tools/ternd/shaping_report.h"
#include "tools/ternd/shard.h"
#include "tools/ternd/suppression_api.h"
#include "tools/ternd/throughput_history.h"

namespace tern::tools::ternd {

class AdminApi {
 public:
  static constexpr size_t kQueueRowsDefault = 10000;
  static constexpr size_t kShapeRowsDefault = 20;
  static constexpr size_t kClassifyReplyBytesMax = 4096;
  // `suppression`: the list ternctl suppress reads and changes (null: none).
  explicit AdminApi(const std::vector<std::unique_ptr<Shard>>* shards, ShapingAccess shaping = {},
                    suppression::SuppressionList* suppression = nullptr)
      : shards_(shards),
        shaping_(std::move(shaping)),
        suppression_(suppression),
        suppression_api_(suppression) {}
  // `body`: the request's (an import's CSV; "" for most).
  net::HttpResponse Handle(absl::string_view method, absl::string_view target,
                           absl::string_view body = "");
  // Called by the admin server's thread every ~200 ms: samples the throughput history.
  void Tick();
  // The webhook's backlog and sender for /metrics (before the server starts; null: none).
  void set_webhook(const events::EventJournal* journal, const events::WebhookSender* sender) {
    event_journal_ = journal;
    webhook_sender_ = sender;
  }

 private:
  net::HttpResponse Queue(const net::QueryParams& params) const;
  net::HttpResponse Message(const net::QueryParams& params) const;
  net::HttpResponse MessageBody(uint64_t id) const;
  net::HttpResponse Shape(const net::QueryParams& params) const;
  net::HttpResponse Action(queue::QueueAction action, const net::QueryParams& params) const;
  net::HttpResponse Stats(const net::QueryParams& params) const;
  net::HttpResponse StatusData(const net::QueryParams& params) const;
  ThroughputSample Sample() const;
  net::HttpResponse Shaping(const net::QueryParams& params) const;
  net::HttpResponse Suspend(const net::QueryParams& params, bool resume) const;
  net::HttpResponse Classify(const net::QueryParams& params) const;

  const std::vector<std::unique_ptr<Shard>>* shards_;
  const events::EventJournal* event_journal_ = nullptr;
  const events::WebhookSender* webhook_sender_ = nullptr;
  ThroughputHistory history_;
  ShapingAccess shaping_;
  const suppression::SuppressionList* suppression_;  // for /metrics (tern_suppression_entries)
  SuppressionApi suppression_api_;
};

}  // namespace tern::tools::ternd
