// Implementation of tools/ternd/metrics_page.h.
#include "tools/ternd/metrics_page.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tools/ternd/delivery_metrics.h"
#include "tools/ternd/shard_metrics.h"

namespace tern::ternd {
namespace {

using core::MetricType;
using Shards = std::vector<std::unique_ptr<Shard>>;

// One histogram series per shard: `bounds` (the +Inf bucket excluded), the counts of bucket
// i from count_of(shard, i), the formatted sum from sum_of(shard).
template <typename CountOf, typename SumOf>
void AppendHistogram(core::MetricsText* text, const Shards& shards, absl::string_view name,
                     absl::string_view help, const std::vector<std::string>& bounds,
                     CountOf count_of, SumOf sum_of) {
  text->Family(name, MetricType::kHistogram, help);
  std::vector<uint64_t> counts(bounds.size() + 1);
  for (const auto& shard : shards) {
    for (size_t i = 0; i < counts.size(); ++i) counts[i] = count_of(*shard, i);
    text->Histogram({{"shard", ShardLabel(*shard)}}, bounds, counts, sum_of(*shard));
  }
}

std::vector<std::string> LatencyBounds() {
  std::vector<std::string> bounds;
  for (size_t i = 0; i + 1 < core::kLatencyBuckets; ++i) {
    bounds.push_back(absl::StrFormat("%g", core::LatencyBucketBoundMicros(i) / 1e6));
  }
  return bounds;
}

std::string MicrosAsSeconds(const std::atomic<uint64_t>& micros) {
  return absl::StrFormat("%g", Load(micros) / 1e6);
}

// The spool's counters, and as Prometheus histograms: records per group commit (the buckets
// are powers of two: le="1", "3", "7", ... i.e. fewer than 2^(i+1) records), commit time and
// each record's wait for its commit (le="6.4e-05" seconds, doubling).
void AppendSpoolMetrics(core::MetricsText* text, const Shards& shards) {
  struct Counter {
    const char* name;
    const char* help;
    const std::atomic<uint64_t> spool::SpoolCounters::*field;
  };
  static constexpr Counter kCounters[] = {
      {"tern_spool_records_total", "Records made durable.", &spool::SpoolCounters::records},
      {"tern_spool_bytes_total", "Bytes of durable records.", &spool::SpoolCounters::bytes},
      {"tern_spool_commits_total", "Group commits (one write + one fdatasync each).",
       &spool::SpoolCounters::commits},
      {"tern_spool_fdatasyncs_total", "fdatasync calls completed.",
       &spool::SpoolCounters::fdatasyncs},
      {"tern_spool_write_errors_total", "Group commits whose write or fdatasync failed.",
       &spool::SpoolCounters::write_errors},
      {"tern_spool_failed_records_total", "Records whose commit failed (answered 451).",
       &spool::SpoolCounters::failed_records},
      {"tern_spool_segments_created_total", "Segment files created and preallocated.",
       &spool::SpoolCounters::segments_created},
      {"tern_spool_segments_abandoned_total", "Segments given up after a write error.",
       &spool::SpoolCounters::segments_abandoned},
      {"tern_spool_segments_deleted_total", "Segments deleted by garbage collection.",
       &spool::SpoolCounters::segments_deleted},
      {"tern_spool_messages_copied_forward_total",
       "Live messages copied out of a mostly-dead segment before it was deleted.",
       &spool::SpoolCounters::messages_copied_forward},
      {"tern_spool_bytes_reclaimed_total", "Disk bytes freed by garbage collection.",
       &spool::SpoolCounters::bytes_reclaimed},
      {"tern_spool_gc_errors_total", "Garbage collection steps that failed.",
       &spool::SpoolCounters::gc_errors},
      {"tern_spool_read_errors_total", "Message reads that failed (torn or corrupt).",
       &spool::SpoolCounters::read_errors},
  };
  AppendPerShard(text, shards, "tern_spool_segments_on_disk", MetricType::kGauge,
                 "Segment files on disk.",
                 [](const Shard& s) { return Load(s.spool()->counters().segments_on_disk); });
  AppendPerShard(text, shards, "tern_spool_bytes_on_disk", MetricType::kGauge,
                 "Bytes of segment files on disk.",
                 [](const Shard& s) { return Load(s.spool()->counters().bytes_on_disk); });
  for (const Counter& counter : kCounters) {
    AppendPerShard(text, shards, counter.name, MetricType::kCounter, counter.help,
                   [&](const Shard& s) { return Load(s.spool()->counters().*counter.field); });
  }
  std::vector<std::string> records_bounds;
  for (size_t i = 0; i + 1 < spool::kRecordsPerCommitBuckets; ++i) {
    records_bounds.push_back(absl::StrCat((uint64_t{2} << i) - 1));
  }
  AppendHistogram(
      text, shards, "tern_spool_records_per_commit", "Records written by each group commit.",
      records_bounds,
      [](const Shard& s, size_t i) {
        return Load(s.spool()->counters().records_per_commit_histogram[i]);
      },
      [](const Shard& s) {
        return absl::StrCat(Load(s.spool()->counters().records_per_commit_sum));
      });
  const std::vector<std::string> latency_bounds = LatencyBounds();
  AppendHistogram(
      text, shards, "tern_spool_commit_seconds",
      "Time of each group commit, from its write being submitted to its fdatasync completing.",
      latency_bounds,
      [](const Shard& s, size_t i) {
        return Load(s.spool()->counters().commit_latency.buckets[i]);
      },
      [](const Shard& s) {
        return MicrosAsSeconds(s.spool()->counters().commit_latency.sum_micros);
      });
  AppendHistogram(
      text, shards, "tern_spool_record_wait_seconds",
      "Wait of each record from its append to its waiter being told it is durable (queueing "
      "behind the commit in flight + its own commit).",
      latency_bounds,
      [](const Shard& s, size_t i) { return Load(s.spool()->counters().record_wait.buckets[i]); },
      [](const Shard& s) { return MicrosAsSeconds(s.spool()->counters().record_wait.sum_micros); });
}

// Per destination (next hop), asked of each shard: connections open now and recipients by
// result since start. At most kDestinationsExported per shard, the busiest first.
void AppendDestinationMetrics(core::MetricsText* text, const Shards& shards) {
  static constexpr size_t kDestinationsExported = 100;
  using Destinations = std::vector<delivery::DeliveryAgent::DestinationStats>;
  std::vector<std::pair<std::string, Destinations>> per_shard;
  for (const auto& shard : shards) {
    std::optional<Destinations> destinations = shard->Ask<Destinations>(
        [](const ShardView& view, auto reply) {
          reply(view.agent == nullptr ? Destinations() : view.agent->Destinations());
        },
        absl::Seconds(5));
    if (!destinations.has_value()) continue;
    if (destinations->size() > kDestinationsExported) destinations->resize(kDestinationsExported);
    per_shard.emplace_back(ShardLabel(*shard), *std::move(destinations));
  }
  text->Family("tern_destination_connections", MetricType::kGauge,
               "Outbound connections open or being opened, per destination.");
  for (const auto& [shard, destinations] : per_shard) {
    for (const auto& d : destinations) {
      text->Sample({{"shard", shard}, {"destination", d.name}}, d.connections + d.connecting);
    }
  }
  text->Family("tern_destination_recipients_total", MetricType::kCounter,
               "Recipients by result, per destination.");
  for (const auto& [shard, destinations] : per_shard) {
    for (const auto& d : destinations) {
      for (const auto& [result, n] : {std::pair<const char*, uint64_t>{"delivered", d.delivered},
                                      {"deferred", d.deferred},
                                      {"bounced", d.bounced}}) {
        text->Sample({{"shard", shard}, {"destination", d.name}, {"result", result}}, n);
      }
    }
  }
}

void AppendSmtpMetrics(core::MetricsText* text, const Shards& shards) {
  AppendPerShard(text, shards, "tern_smtp_connections_total", MetricType::kCounter,
                 "SMTP connections accepted.",
                 [](const Shard& s) { return s.connections_total(); });
  AppendPerShard(text, shards, "tern_smtp_connections_open", MetricType::kGauge,
                 "SMTP connections open now.", [](const Shard& s) { return s.open_connections(); });
  AppendPerShard(text, shards, "tern_smtp_commands_total", MetricType::kCounter,
                 "SMTP command lines received.",
                 [](const Shard& s) { return Load(s.smtp_counters().commands); });
  AppendPerShard(text, shards, "tern_messages_accepted_total", MetricType::kCounter,
                 "Messages acknowledged with 250 after their fdatasync.",
                 [](const Shard& s) { return Load(s.smtp_counters().messages_accepted); });
  AppendPerShard(text, shards, "tern_bytes_accepted_total", MetricType::kCounter,
                 "Body bytes of the messages acknowledged.",
                 [](const Shard& s) { return Load(s.smtp_counters().bytes_accepted); });
  AppendPerShard(text, shards, "tern_messages_rejected_total", MetricType::kCounter,
                 "Messages refused or not stored after their data was sent.",
                 [](const Shard& s) { return Load(s.smtp_counters().messages_rejected); });
  AppendPerShard(text, shards, "tern_smtp_tls_handshakes_total", MetricType::kCounter,
                 "TLS handshakes completed by SMTP clients (port 465 or STARTTLS).",
                 [](const Shard& s) { return Load(s.smtp_counters().tls_handshakes); });
  AppendPerShard(text, shards, "tern_smtp_tls_handshake_failures_total", MetricType::kCounter,
                 "TLS handshakes of SMTP clients that failed or were abandoned.",
                 [](const Shard& s) { return Load(s.smtp_counters().tls_handshake_failures); });
  text->Family("tern_smtp_rejects_total", MetricType::kCounter,
               "SMTP 4xx/5xx replies sent, by code.");
  for (const auto& shard : shards) {
    const auto& counts = shard->smtp_counters().rejects_by_code;
    for (size_t i = 0; i < counts.size(); ++i) {
      const uint64_t n = Load(counts[i]);
      if (n == 0) continue;
      const std::string code =
          absl::StrCat(smtp::SmtpCounters::kReplyCodeMin + static_cast<int>(i));
      text->Sample({{"shard", ShardLabel(*shard)}, {"code", code}}, n);
    }
  }
  AppendHistogram(
      text, shards, "tern_smtp_accept_seconds",
      "From the end of a message's data to its 250 (its group commit and the wait for it).",
      LatencyBounds(),
      [](const Shard& s, size_t i) { return Load(s.smtp_counters().accept_latency.buckets[i]); },
      [](const Shard& s) { return MicrosAsSeconds(s.smtp_counters().accept_latency.sum_micros); });
}

void AppendQueueMetrics(core::MetricsText* text, const Shards& shards) {
  std::vector<std::string> delay_bounds;
  for (const double bound : delivery::kDeliveryDelayBoundsSeconds) {
    delay_bounds.push_back(absl::StrFormat("%g", bound));
  }
  AppendHistogram(
      text, shards, "tern_delivery_seconds",
      "From a message's arrival to the delivery of a recipient (retries included).", delay_bounds,
      [](const Shard& s, size_t i) {
        return Load(s.delivery_counters().delivery_delay_histogram[i]);
      },
      [](const Shard& s) {
        return absl::StrFormat("%g", Load(s.delivery_counters().delivery_delay_sum_ms) / 1e3);
      });
  AppendPerShard(text, shards, "tern_queue_messages", MetricType::kGauge, "Messages in the queue.",
                 [](const Shard& s) { return s.queue_messages(); });
  AppendPerShard(text, shards, "tern_queue_bytes", MetricType::kGauge,
                 "Body bytes of the messages in the queue.",
                 [](const Shard& s) { return s.queue_bytes(); });
  text->Family("tern_queue_messages_by_state", MetricType::kGauge,
               "Messages in the queue: held, being delivered (active) or waiting (for their "
               "first attempt or a retry).");
  for (const auto& shard : shards) {
    const uint64_t total = shard->queue_messages();
    const uint64_t held = std::min(total, shard->queue_held());
    const uint64_t active =
        std::min(total - held, Load(shard->delivery_counters().active_messages));
    for (const auto& [state, n] : {std::pair<const char*, uint64_t>{"held", held},
                                   {"active", active},
                                   {"waiting", total - held - active}}) {
      text->Sample({{"shard", ShardLabel(*shard)}, {"state", state}}, n);
    }
  }
}

}  // namespace

std::string MetricsPage(const Shards& shards) {
  std::string out;
  core::MetricsText text(&out);
  AppendSmtpMetrics(&text, shards);
  AppendQueueMetrics(&text, shards);
  AppendDestinationMetrics(&text, shards);
  AppendSpoolMetrics(&text, shards);
  AppendDeliveryMetrics(&text, shards);
  return out;
}

}  // namespace tern::ternd
