// Implementation of tools/ternd/metrics_page.h.
#include "tools/ternd/metrics_page.h"

#include <algorithm>
#include <array>
#include <optional>
#include <tuple>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/log_output.h"
#include "core/metrics_text.h"
#include "core/process_stats.h"
#include "tools/ternd/build_info_metric.h"
#include "tools/ternd/delivery_metrics.h"
#include "tools/ternd/event_metrics.h"
#include "tools/ternd/shaping_metrics.h"
#include "tools/ternd/shard_metrics.h"
#include "tools/ternd/suppression_metrics.h"

namespace tern::tools::ternd {

using queue::ShardView;

namespace {

constexpr core::MetricType kCounter = core::MetricType::kCounter;
constexpr core::MetricType kGauge = core::MetricType::kGauge;

// Bounds of core::LatencyHistogram's buckets, in seconds, exact: "0.000064" ... "0.524288".
std::vector<std::string> LatencyBounds() {
  std::vector<std::string> bounds;
  for (size_t i = 0; i + 1 < core::kLatencyBuckets; ++i) {
    bounds.push_back(core::ShortDecimal(core::LatencyBucketBoundMicros(i), 6));
  }
  return bounds;
}

std::string MicrosAsSeconds(const std::atomic<uint64_t>& micros) {
  return core::Decimal(Load(micros), 6);
}

using S = spool::SpoolCounters;
constexpr CounterField<S> kSpoolFields[] = {
    {"tern_spool_segments", kGauge, "Segment files on disk.", &S::segments_on_disk},
    {"tern_spool_disk_bytes", kGauge, "Bytes of segment files on disk (preallocated).",
     &S::bytes_on_disk},
    {"tern_spool_records_total", kCounter,
     "Records appended, by result: ok (made durable) or failed (their commit failed, answered "
     "451).",
     &S::records, "result", "ok"},
    {"tern_spool_records_total", kCounter, "", &S::failed_records, "result", "failed"},
    {"tern_spool_record_bytes_total", kCounter, "Bytes of durable records.", &S::bytes},
    {"tern_spool_commits_total", kCounter,
     "Group commits (one write + one fdatasync each), by result: ok, or failed (the write or the "
     "fdatasync failed).",
     &S::commits, "result", "ok"},
    {"tern_spool_commits_total", kCounter, "", &S::write_errors, "result", "failed"},
    {"tern_spool_fdatasyncs_total", kCounter, "fdatasync calls completed.", &S::fdatasyncs},
    {"tern_spool_segments_created_total", kCounter, "Segment files created and preallocated.",
     &S::segments_created},
    {"tern_spool_segments_abandoned_total", kCounter, "Segments given up after a write error.",
     &S::segments_abandoned},
    {"tern_spool_segments_prefilled_total", kCounter,
     "Segments zero-filled and synced ahead of use (--segment_prefill=zero).",
     &S::segments_prefilled},
    {"tern_spool_segments_prefill_late_total", kCounter,
     "Segments needed before their zero fill finished: the rotation waited for the zero piece in "
     "flight, and the rest stayed as preallocated.",
     &S::segments_prefill_late},
    {"tern_spool_prefill_errors_total", kCounter,
     "Zero fills that failed (the segment was used as preallocated).", &S::prefill_errors},
    {"tern_spool_prefill_bytes_total", kCounter, "Zero bytes written ahead of use into segments.",
     &S::prefill_bytes},
    {"tern_spool_segments_deleted_total", kCounter,
     "Segments deleted (at recovery and by garbage collection).", &S::segments_deleted},
    {"tern_spool_messages_copied_forward_total", kCounter,
     "Live messages copied out of a mostly-dead segment before it was deleted.",
     &S::messages_copied_forward},
    {"tern_spool_reclaimed_bytes_total", kCounter, "Disk bytes freed by garbage collection.",
     &S::bytes_reclaimed},
    {"tern_spool_gc_errors_total", kCounter, "Garbage collection steps that failed.",
     &S::gc_errors},
    {"tern_spool_message_reads_total", kCounter,
     "Message reads from the spool, by result: ok, or failed (I/O error, torn or corrupt).",
     &S::messages_read, "result", "ok"},
    {"tern_spool_message_reads_total", kCounter, "", &S::read_errors, "result", "failed"},
};

// The spool's counters, and as Prometheus histograms: records per group commit (the buckets are
// powers of two: le="1", "3", "7", ... i.e. fewer than 2^(i+1) records), commit time and each
// record's wait for its commit (le="0.000064" seconds, doubling).
void AppendSpoolMetrics(core::MetricsText* text, const Shards& shards) {
  AppendFields(text, shards, kSpoolFields, [](const Shard& s) { return &s.spool()->counters(); });
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
      text, shards, "tern_spool_commit_duration_seconds",
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
      "Wait of each record from its append to its waiter being told it is durable (queueing behind "
      "the commit in flight + its own commit).",
      latency_bounds,
      [](const Shard& s, size_t i) { return Load(s.spool()->counters().record_wait.buckets[i]); },
      [](const Shard& s) { return MicrosAsSeconds(s.spool()->counters().record_wait.sum_micros); });
}

// Per destination (next hop), asked of each shard: connections open now and recipients by result
// since start. Destinations are an unbounded label: at most kDestinationsExported per shard, the
// busiest first, each appearing once it has been used (not from start).
void AppendDestinationMetrics(core::MetricsText* text, const Shards& shards) {
  static constexpr size_t kDestinationsExported = 100;
  using Destinations = std::vector<delivery::DestinationStats>;
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
  text->Family("tern_destination_open_connections", kGauge,
               "Outbound connections open or being opened, per destination (the busiest 100 of "
               "each shard).");
  for (const auto& [shard, destinations] : per_shard) {
    for (const auto& d : destinations) {
      text->Sample({{"shard", shard}, {"destination", d.name}}, d.connections + d.connecting);
    }
  }
  text->Family("tern_destination_recipients_total", kCounter,
               "Recipients by result (delivered, deferred, bounced), per destination (the busiest "
               "100 of each shard).");
  for (const auto& [shard, destinations] : per_shard) {
    for (const auto& d : destinations) {
      for (const auto& [result, n] : {std::pair<const char*, uint64_t>{"delivered", d.delivered},
                                      {"deferred", d.deferred},
                                      {"bounced", d.bounced}}) {
        text->Sample({{"shard", shard}, {"destination", d.name}, {"result", result}}, n);
      }
    }
  }
  // Shaping per destination (a lane: one site from one egress source).
  text->Family("tern_destination_throttled_seconds_total", kCounter,
               "Time jobs waited for their throttles (rate limits) before being sent, per "
               "destination and egress source (the busiest 100 of each shard).");
  for (const auto& [shard, destinations] : per_shard) {
    for (const auto& d : destinations) {
      text->Sample(
          {{"shard", shard}, {"destination", d.name}, {"source", d.source}, {"site", d.site}},
          absl::StrFormat("%.3f", static_cast<double>(d.throttled_ms) / 1000.0));
    }
  }
  text->Family("tern_destination_message_tokens", kGauge,
               "Messages the destination's own rate limit would let go at once now (only "
               "destinations with a rate limit).");
  for (const auto& [shard, destinations] : per_shard) {
    for (const auto& d : destinations) {
      if (d.tokens < 0) continue;
      text->Sample(
          {{"shard", shard}, {"destination", d.name}, {"source", d.source}, {"site", d.site}},
          static_cast<uint64_t>(d.tokens));
    }
  }
  text->Family("tern_destination_suspended", kGauge,
               "1 while the destination is suspended by an automation rule or ternctl suspend.");
  for (const auto& [shard, destinations] : per_shard) {
    for (const auto& d : destinations) {
      text->Sample(
          {{"shard", shard}, {"destination", d.name}, {"source", d.source}, {"site", d.site}},
          uint64_t{d.suspended ? 1u : 0u});
    }
  }
}

// The 4xx and 5xx codes ternd's SMTP server itself sends (net/smtp): exported as 0 from the first
// scrape. Other codes (from a policy or a milter) are exported once counted.
constexpr std::array<int, 17> kRejectCodesSent = {421, 451, 452, 454, 500, 501, 502, 503, 504,
                                                  530, 535, 538, 550, 552, 553, 554, 555};

// 4xx and 5xx replies by code.
void AppendSmtpRejects(core::MetricsText* text, const Shards& shards) {
  using net::smtp::SmtpCounters;
  text->Family("tern_smtp_rejects_total", kCounter, "SMTP 4xx/5xx replies sent, by code.");
  for (const auto& shard : shards) {
    const std::string shard_label = ShardLabel(*shard);
    const auto& counts = shard->smtp_counters().rejects_by_code;
    for (size_t i = 0; i < counts.size(); ++i) {
      const int code = SmtpCounters::kReplyCodeMin + static_cast<int>(i);
      const uint64_t n = Load(counts[i]);
      const bool always = std::find(kRejectCodesSent.begin(), kRejectCodesSent.end(), code) !=
                          kRejectCodesSent.end();
      if (n == 0 && !always) continue;
      text->Sample({{"shard", shard_label}, {"code", absl::StrCat(code)}}, n);
    }
  }
}

void AppendSmtpMetrics(core::MetricsText* text, const Shards& shards) {
  AppendPerShard(text, shards, "tern_smtp_connections_total", kCounter,
                 "SMTP connections accepted.",
                 [](const Shard& s) { return s.connections_total(); });
  AppendPerShard(text, shards, "tern_smtp_open_connections", kGauge, "SMTP connections open now.",
                 [](const Shard& s) { return s.open_connections(); });
  AppendPerShard(text, shards, "tern_smtp_connections_handed_off_total", kCounter,
                 "SMTP connections this shard accepted and handed to a shard with fewer open "
                 "(--inbound_balance=handoff); the receiving shard counts them as accepted.",
                 [](const Shard& s) { return s.connections_handed_off(); });
  AppendPerShard(text, shards, "tern_smtp_commands_total", kCounter, "SMTP command lines received.",
                 [](const Shard& s) { return Load(s.smtp_counters().commands); });
  using C = net::smtp::SmtpCounters;
  static constexpr CounterField<C> kFields[] = {
      {"tern_smtp_messages_total", kCounter,
       "Messages whose data was received, by result: accepted (answered 250 after their fdatasync) "
       "or rejected (refused or not stored).",
       &C::messages_accepted, "result", "accepted"},
      {"tern_smtp_messages_total", kCounter, "", &C::messages_rejected, "result", "rejected"},
      {"tern_smtp_accepted_bytes_total", kCounter, "Body bytes of the messages accepted.",
       &C::bytes_accepted},
      {"tern_smtp_recipients_suppressed_total", kCounter,
       "RCPTs refused (550 5.1.1) because the recipient is on the suppression list.",
       &C::recipients_screened_out},
  };
  AppendFields(text, shards, kFields, [](const Shard& s) { return &s.smtp_counters(); });
  AppendSmtpRejects(text, shards);
  AppendHistogram(
      text, shards, "tern_smtp_accept_duration_seconds",
      "From the end of a message's data to its 250 (its group commit and the wait for it).",
      LatencyBounds(),
      [](const Shard& s, size_t i) { return Load(s.smtp_counters().accept_latency.buckets[i]); },
      [](const Shard& s) { return MicrosAsSeconds(s.smtp_counters().accept_latency.sum_micros); });
}

// TLS handshakes of both directions: inbound (SMTP clients, port 465 or STARTTLS) and outbound
// (STARTTLS to remote servers), each ok or failed.
void AppendTlsMetrics(core::MetricsText* text, const Shards& shards) {
  text->Family(
      "tern_tls_handshakes_total", kCounter,
      "TLS handshakes by direction (inbound: SMTP clients, port 465 or STARTTLS; outbound: "
      "STARTTLS to remote servers) and result (ok, or failed: failed or abandoned).");
  for (const auto& shard : shards) {
    const std::string id = ShardLabel(*shard);
    const net::smtp::SmtpCounters& in = shard->smtp_counters();
    const net::smtp::ClientCounters& out = shard->client_counters();
    for (const auto& [direction, result, n] :
         {std::tuple<const char*, const char*, uint64_t>{"inbound", "ok", Load(in.tls_handshakes)},
          {"inbound", "failed", Load(in.tls_handshake_failures)},
          {"outbound", "ok", Load(out.tls_handshakes)},
          {"outbound", "failed", Load(out.tls_handshake_failures)}}) {
      text->Sample({{"shard", id}, {"direction", direction}, {"result", result}}, n);
    }
  }
}

void AppendQueueMetrics(core::MetricsText* text, const Shards& shards) {
  text->Family("tern_queue_messages", kGauge,
               "Messages in the queue by state: held, being delivered (active) or waiting (for "
               "their first attempt or a retry).");
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
  AppendPerShard(text, shards, "tern_queue_bytes", kGauge,
                 "Body bytes of the messages in the queue.",
                 [](const Shard& s) { return s.queue_bytes(); });
}

// The process_* set the Prometheus client libraries export on Linux (names, types and help as
// theirs), without a shard label: one process. Left out if /proc cannot be read.
void AppendProcessMetrics(core::MetricsText* text) {
  absl::StatusOr<core::ProcessStats> stats = core::ReadProcessStats();
  if (!stats.ok()) return;
  text->Family("process_cpu_seconds_total", kCounter,
               "Total user and system CPU time spent in seconds.");
  text->Sample({}, core::Decimal(stats->cpu_micros, 6));
  text->Family("process_open_fds", kGauge, "Number of open file descriptors.");
  text->Sample({}, stats->open_fds);
  text->Family("process_max_fds", kGauge, "Maximum number of open file descriptors.");
  text->Sample({}, stats->max_fds);
  text->Family("process_virtual_memory_bytes", kGauge, "Virtual memory size in bytes.");
  text->Sample({}, stats->virtual_memory_bytes);
  text->Family("process_resident_memory_bytes", kGauge, "Resident memory size in bytes.");
  text->Sample({}, stats->resident_memory_bytes);
  text->Family("process_start_time_seconds", kGauge,
               "Start time of the process since unix epoch in seconds.");
  text->Sample({}, core::Decimal(stats->start_time_unix_micros, 6));
}

}  // namespace

std::string MetricsPage(const Shards& shards, const MetricsSources& sources) {
  std::string out;
  core::MetricsText text(&out);
  AppendSmtpMetrics(&text, shards);
  AppendTlsMetrics(&text, shards);
  AppendQueueMetrics(&text, shards);
  AppendDestinationMetrics(&text, shards);
  AppendSpoolMetrics(&text, shards);
  AppendDeliveryMetrics(&text, shards);
  if (sources.shaping != nullptr) AppendShapingMetrics(&text, *sources.shaping, absl::Now());
  AppendSuppressionMetrics(&text, sources.suppression);
  AppendEventMetrics(&text, shards, sources.events, sources.webhook);
  AppendProcessMetrics(&text);
  text.Family("tern_log_lines_dropped_total", kCounter,
              "Diagnostic log lines dropped because stderr's reader fell behind.");
  text.Sample({}, core::LogLinesDropped());
  AppendBuildInfoMetric(&out);
  return out;
}

}  // namespace tern::tools::ternd
