// Implementation of tools/ternd/admin_api.h.
#include "tools/ternd/admin_api.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "tools/ternd/delivery_metrics.h"

namespace tern::ternd {
namespace {

// Appends one metric family: HELP and TYPE lines, then one sample per shard.
template <typename ValueOf>
void AppendFamily(std::string* out, absl::string_view name, absl::string_view type,
                  absl::string_view help, const std::vector<std::unique_ptr<Shard>>& shards,
                  ValueOf value_of) {
  absl::StrAppend(out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
  for (const auto& shard : shards) {
    absl::StrAppend(out, name, "{shard=\"", shard->id(), "\"} ", value_of(*shard), "\n");
  }
}

uint64_t Load(const std::atomic<uint64_t>& counter) {
  return counter.load(std::memory_order_relaxed);
}

// Parses "a=1&b=2" into the value of `key` (empty if absent).
absl::string_view QueryParam(absl::string_view query, absl::string_view key) {
  for (absl::string_view pair : absl::StrSplit(query, '&')) {
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(pair, '=');
    if (kv.first == key) return kv.second;
  }
  return "";
}

// Appends one Prometheus histogram per shard: `buckets` buckets whose upper bounds
// `bound_of(i)` gives (the last one is +Inf), counts from `count_of(counters, i)`.
template <typename BoundOf, typename CountOf, typename SumOf>
void AppendHistogram(std::string* out, absl::string_view name, absl::string_view help,
                     const std::vector<std::unique_ptr<Shard>>& shards, size_t buckets,
                     BoundOf bound_of, CountOf count_of, SumOf sum_of) {
  absl::StrAppend(out, "# HELP ", name, " ", help, "\n# TYPE ", name, " histogram\n");
  for (const auto& shard : shards) {
    const spool::SpoolCounters& c = shard->spool()->counters();
    const std::string labels = absl::StrCat("{shard=\"", shard->id(), "\"");
    uint64_t cumulative = 0;
    for (size_t i = 0; i < buckets; ++i) {
      cumulative += count_of(c, i);
      const std::string bound = i + 1 == buckets ? std::string("+Inf") : bound_of(i);
      absl::StrAppend(out, name, "_bucket", labels, ",le=\"", bound, "\"} ", cumulative, "\n");
    }
    absl::StrAppend(out, name, "_sum", labels, "} ", sum_of(c), "\n");
    absl::StrAppend(out, name, "_count", labels, "} ", cumulative, "\n");
  }
}

// The spool's counters, and as Prometheus histograms: records per group commit (the buckets
// are powers of two: le="1", "3", "7", ... i.e. fewer than 2^(i+1) records), commit time and
// each record's wait for its commit (le="6.4e-05" seconds, doubling).
void AppendSpoolMetrics(std::string* out, const std::vector<std::unique_ptr<Shard>>& shards) {
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
  AppendFamily(out, "tern_spool_segments_on_disk", "gauge", "Segment files on disk.", shards,
               [](const Shard& s) { return Load(s.spool()->counters().segments_on_disk); });
  AppendFamily(out, "tern_spool_bytes_on_disk", "gauge", "Bytes of segment files on disk.", shards,
               [](const Shard& s) { return Load(s.spool()->counters().bytes_on_disk); });
  for (const Counter& counter : kCounters) {
    AppendFamily(out, counter.name, "counter", counter.help, shards,
                 [&](const Shard& s) { return Load(s.spool()->counters().*counter.field); });
  }
  AppendHistogram(
      out, "tern_spool_records_per_commit", "Records written by each group commit.", shards,
      spool::kRecordsPerCommitBuckets,
      [](size_t i) { return absl::StrCat((uint64_t{2} << i) - 1); },
      [](const spool::SpoolCounters& c, size_t i) {
        return Load(c.records_per_commit_histogram[i]);
      },
      [](const spool::SpoolCounters& c) { return absl::StrCat(Load(c.records_per_commit_sum)); });
  const auto seconds_bound = [](size_t i) {
    return absl::StrFormat("%g", spool::LatencyBucketBoundMicros(i) / 1e6);
  };
  AppendHistogram(
      out, "tern_spool_commit_seconds",
      "Time of each group commit, from its write being submitted to its fdatasync completing.",
      shards, spool::kLatencyBuckets, seconds_bound,
      [](const spool::SpoolCounters& c, size_t i) { return Load(c.commit_latency.buckets[i]); },
      [](const spool::SpoolCounters& c) {
        return absl::StrFormat("%g", Load(c.commit_latency.sum_micros) / 1e6);
      });
  AppendHistogram(
      out, "tern_spool_record_wait_seconds",
      "Wait of each record from its append to its waiter being told it is durable (queueing "
      "behind the commit in flight + its own commit).",
      shards, spool::kLatencyBuckets, seconds_bound,
      [](const spool::SpoolCounters& c, size_t i) { return Load(c.record_wait.buckets[i]); },
      [](const spool::SpoolCounters& c) {
        return absl::StrFormat("%g", Load(c.record_wait.sum_micros) / 1e6);
      });
}

}  // namespace

net::HttpResponse AdminApi::Handle(absl::string_view target) {
  absl::string_view path = target;
  absl::string_view query;
  if (size_t q = target.find('?'); q != absl::string_view::npos) {
    path = target.substr(0, q);
    query = target.substr(q + 1);
  }
  if (path == "/metrics") {
    return {200, "text/plain; version=0.0.4; charset=utf-8", Metrics()};
  }
  if (path == "/queue") return Queue(query);
  if (path == "/healthz") return {200, "text/plain; charset=utf-8", "ok\n"};
  if (path == "/") {
    return {200, "text/plain; charset=utf-8",
            "Tern admin endpoint: /metrics (Prometheus), /queue (JSON; ?format=text, "
            "?limit=N), /healthz\n"};
  }
  return {404, "text/plain; charset=utf-8", "not found\n"};
}

net::HttpResponse AdminApi::Queue(absl::string_view query) const {
  size_t limit = kQueueRowsDefault;
  absl::string_view limit_text = QueryParam(query, "limit");
  if (!limit_text.empty() && !absl::SimpleAtoi(limit_text, &limit)) {
    return {400, "text/plain; charset=utf-8", "bad limit\n"};
  }
  const bool text = QueryParam(query, "format") == "text";
  uint64_t total = 0;
  uint64_t bytes = 0;
  for (const auto& shard : *shards_) {
    total += shard->queue_messages();
    bytes += shard->queue_bytes();
  }
  std::string body;
  if (text) {
    absl::StrAppendFormat(&body, "%-16s %8s %9s  %s\n", "QUEUE ID", "AGE", "SIZE",
                          "SENDER / RECIPIENTS");
  } else {
    absl::StrAppend(&body, "{\"total\":", total, ",\"bytes\":", bytes, ",\"messages\":[\n");
  }
  size_t left = limit;
  bool first = true;
  for (const auto& shard : *shards_) {
    if (left == 0) break;
    std::string rows =
        shard->Query(text ? ShardQuery::Kind::kQueueText : ShardQuery::Kind::kQueueJson, left);
    if (text) {
      body += rows;
      continue;
    }
    for (absl::string_view row : absl::StrSplit(rows, '\n', absl::SkipEmpty())) {
      if (left == 0) break;
      --left;
      absl::StrAppend(&body, first ? "" : ",\n", row);
      first = false;
    }
  }
  if (text) {
    absl::StrAppendFormat(&body, "-- %d messages, %d bytes in queue\n", total, bytes);
    return {200, "text/plain; charset=utf-8", body};
  }
  body += "\n]}\n";
  return {200, "application/json", body};
}

std::string AdminApi::Metrics() const {
  std::string out;
  const auto& shards = *shards_;
  AppendFamily(&out, "tern_smtp_connections_total", "counter", "SMTP connections accepted.", shards,
               [](const Shard& s) { return s.connections_total(); });
  AppendFamily(&out, "tern_smtp_connections_open", "gauge", "SMTP connections open now.", shards,
               [](const Shard& s) { return s.open_connections(); });
  AppendFamily(&out, "tern_smtp_commands_total", "counter", "SMTP command lines received.", shards,
               [](const Shard& s) { return Load(s.smtp_counters().commands); });
  AppendFamily(&out, "tern_messages_accepted_total", "counter",
               "Messages acknowledged with 250 after their fdatasync.", shards,
               [](const Shard& s) { return Load(s.smtp_counters().messages_accepted); });
  AppendFamily(&out, "tern_bytes_accepted_total", "counter",
               "Body bytes of the messages acknowledged.", shards,
               [](const Shard& s) { return Load(s.smtp_counters().bytes_accepted); });
  AppendFamily(&out, "tern_messages_rejected_total", "counter",
               "Messages refused or not stored after their data was sent.", shards,
               [](const Shard& s) { return Load(s.smtp_counters().messages_rejected); });
  AppendFamily(&out, "tern_smtp_tls_handshakes_total", "counter",
               "TLS handshakes completed by SMTP clients (port 465 or STARTTLS).", shards,
               [](const Shard& s) { return Load(s.smtp_counters().tls_handshakes); });
  AppendFamily(&out, "tern_smtp_tls_handshake_failures_total", "counter",
               "TLS handshakes of SMTP clients that failed or were abandoned.", shards,
               [](const Shard& s) { return Load(s.smtp_counters().tls_handshake_failures); });
  absl::StrAppend(&out,
                  "# HELP tern_smtp_rejects_total SMTP 4xx/5xx replies sent, by code.\n"
                  "# TYPE tern_smtp_rejects_total counter\n");
  for (const auto& shard : shards) {
    const auto& counts = shard->smtp_counters().rejects_by_code;
    for (size_t i = 0; i < counts.size(); ++i) {
      const uint64_t n = Load(counts[i]);
      if (n == 0) continue;
      absl::StrAppend(&out, "tern_smtp_rejects_total{shard=\"", shard->id(), "\",code=\"",
                      smtp::SmtpCounters::kReplyCodeMin + static_cast<int>(i), "\"} ", n, "\n");
    }
  }
  AppendFamily(&out, "tern_queue_messages", "gauge", "Messages in the queue.", shards,
               [](const Shard& s) { return s.queue_messages(); });
  AppendFamily(&out, "tern_queue_bytes", "gauge", "Body bytes of the messages in the queue.",
               shards, [](const Shard& s) { return s.queue_bytes(); });
  AppendSpoolMetrics(&out, shards);
  AppendDeliveryMetrics(&out, shards);
  return out;
}

}  // namespace tern::ternd
