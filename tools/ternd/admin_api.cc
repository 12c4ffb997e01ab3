// Implementation of tools/ternd/admin_api.h.
#include "tools/ternd/admin_api.h"

#include <optional>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "tools/ternd/delivery_metrics.h"
#include "tools/ternd/flag_report.h"
#include "tools/ternd/queue_filter.h"
#include "tools/ternd/queue_report.h"
#include "tools/ternd/queue_shape.h"
#include "tools/ternd/status_page.h"

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

constexpr const char* kText = "text/plain; charset=utf-8";
constexpr const char* kJson = "application/json";

constexpr const char* kJsonLines = "application/jsonl";

bool Text(const net::QueryParams& params) { return net::QueryValue(params, "format") == "text"; }
bool JsonLines(const net::QueryParams& params) {
  return net::QueryValue(params, "format") == "jsonl";
}

// The operator's bounce reason: it becomes a DSN's diagnostic line and a delivery log field,
// so one short line of printable ASCII.
absl::StatusOr<std::string> BounceReason(const net::QueryParams& params) {
  static constexpr size_t kBounceReasonBytesMax = 200;
  std::string reason = net::QueryValue(params, "reason");
  if (reason.size() > kBounceReasonBytesMax) {
    return absl::InvalidArgumentError(
        absl::StrCat("reason: longer than ", kBounceReasonBytesMax, " bytes"));
  }
  for (const char c : reason) {
    if (c < 0x20 || c > 0x7e) {
      return absl::InvalidArgumentError("reason: printable ASCII only (one line)");
    }
  }
  return reason;
}

net::HttpResponse Unavailable(int shard) {
  return {503, kText, absl::StrCat("shard ", shard, " did not answer (stopping or busy)\n")};
}

// Appends one Prometheus histogram per shard: `buckets` buckets whose upper bounds
// `bound_of(i)` gives (the last one is +Inf), counts from `count_of(shard, i)`.
template <typename BoundOf, typename CountOf, typename SumOf>
void AppendHistogram(std::string* out, absl::string_view name, absl::string_view help,
                     const std::vector<std::unique_ptr<Shard>>& shards, size_t buckets,
                     BoundOf bound_of, CountOf count_of, SumOf sum_of) {
  absl::StrAppend(out, "# HELP ", name, " ", help, "\n# TYPE ", name, " histogram\n");
  for (const auto& shard : shards) {
    const std::string labels = absl::StrCat("{shard=\"", shard->id(), "\"");
    uint64_t cumulative = 0;
    for (size_t i = 0; i < buckets; ++i) {
      cumulative += count_of(*shard, i);
      const std::string bound = i + 1 == buckets ? std::string("+Inf") : bound_of(i);
      absl::StrAppend(out, name, "_bucket", labels, ",le=\"", bound, "\"} ", cumulative, "\n");
    }
    absl::StrAppend(out, name, "_sum", labels, "} ", sum_of(*shard), "\n");
    absl::StrAppend(out, name, "_count", labels, "} ", cumulative, "\n");
  }
}

std::string SecondsBound(size_t i) {
  return absl::StrFormat("%g", core::LatencyBucketBoundMicros(i) / 1e6);
}

std::string MicrosAsSeconds(const std::atomic<uint64_t>& micros) {
  return absl::StrFormat("%g", Load(micros) / 1e6);
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
      [](const Shard& s, size_t i) {
        return Load(s.spool()->counters().records_per_commit_histogram[i]);
      },
      [](const Shard& s) {
        return absl::StrCat(Load(s.spool()->counters().records_per_commit_sum));
      });
  AppendHistogram(
      out, "tern_spool_commit_seconds",
      "Time of each group commit, from its write being submitted to its fdatasync completing.",
      shards, core::kLatencyBuckets, SecondsBound,
      [](const Shard& s, size_t i) {
        return Load(s.spool()->counters().commit_latency.buckets[i]);
      },
      [](const Shard& s) {
        return MicrosAsSeconds(s.spool()->counters().commit_latency.sum_micros);
      });
  AppendHistogram(
      out, "tern_spool_record_wait_seconds",
      "Wait of each record from its append to its waiter being told it is durable (queueing "
      "behind the commit in flight + its own commit).",
      shards, core::kLatencyBuckets, SecondsBound,
      [](const Shard& s, size_t i) { return Load(s.spool()->counters().record_wait.buckets[i]); },
      [](const Shard& s) { return MicrosAsSeconds(s.spool()->counters().record_wait.sum_micros); });
}

// Per destination (next hop), asked of each shard: connections open now and recipients by
// result since start. At most kDestinationsExported per shard, the busiest first.
void AppendDestinationMetrics(std::string* out, const std::vector<std::unique_ptr<Shard>>& shards) {
  static constexpr size_t kDestinationsExported = 100;
  std::string connections =
      "# HELP tern_destination_connections Outbound connections open or being opened, per "
      "destination.\n# TYPE tern_destination_connections gauge\n";
  std::string results =
      "# HELP tern_destination_recipients_total Recipients by result, per destination.\n"
      "# TYPE tern_destination_recipients_total counter\n";
  for (const auto& shard : shards) {
    std::optional<std::vector<delivery::DeliveryAgent::DestinationStats>> destinations =
        shard->Ask<std::vector<delivery::DeliveryAgent::DestinationStats>>(
            [](const ShardView& view, auto reply) {
              reply(view.agent == nullptr ? std::vector<delivery::DeliveryAgent::DestinationStats>()
                                          : view.agent->Destinations());
            },
            absl::Seconds(5));
    if (!destinations.has_value()) continue;
    if (destinations->size() > kDestinationsExported) destinations->resize(kDestinationsExported);
    for (const auto& d : *destinations) {
      std::string labels = absl::StrCat("{shard=\"", shard->id(), "\",destination=\"");
      for (const char c : d.name) {
        if (c == '"' || c == '\\') labels.push_back('\\');
        if (c != '\n') labels.push_back(c);
      }
      labels += "\"";
      absl::StrAppend(&connections, "tern_destination_connections", labels, "} ",
                      d.connections + d.connecting, "\n");
      for (const auto& [result, n] : {std::pair<const char*, uint64_t>{"delivered", d.delivered},
                                      {"deferred", d.deferred},
                                      {"bounced", d.bounced}}) {
        absl::StrAppend(&results, "tern_destination_recipients_total", labels, ",result=\"", result,
                        "\"} ", n, "\n");
      }
    }
  }
  absl::StrAppend(out, connections, results);
}

}  // namespace

net::HttpResponse AdminApi::Handle(absl::string_view method, absl::string_view target) {
  absl::string_view path = target;
  absl::string_view query;
  if (size_t q = target.find('?'); q != absl::string_view::npos) {
    path = target.substr(0, q);
    query = target.substr(q + 1);
  }
  const net::QueryParams params = net::ParseQuery(query);
  static constexpr std::pair<absl::string_view, QueueAction> kActions[] = {
      {"/hold", QueueAction::kHold},     {"/release", QueueAction::kRelease},
      {"/flush", QueueAction::kFlush},   {"/delete", QueueAction::kDelete},
      {"/bounce", QueueAction::kBounce},
  };
  for (const auto& [action_path, action] : kActions) {
    if (path != action_path) continue;
    if (method != "POST") return {405, kText, "changes need POST\n"};
    return Action(action, params);
  }
  if (path == "/metrics") {
    return {200, "text/plain; version=0.0.4; charset=utf-8", Metrics()};
  }
  if (path == "/queue") return Queue(params);
  if (path == "/message") return Message(params);
  if (path == "/qshape") return Shape(params);
  if (path == "/config") {
    const std::vector<FlagSetting> flags = NonDefaultFlags();
    if (Text(params)) return {200, kText, FlagsText(flags)};
    if (JsonLines(params)) return {200, kJsonLines, FlagsJsonLines(flags)};
    return {200, kJson, FlagsJson(flags)};
  }
  if (path == "/stats") return Stats(params);
  if (path == "/healthz") return {200, kText, "ok\n"};
  if (path == "/") return {200, "text/html; charset=utf-8", std::string(StatusPageHtml())};
  if (path == "/status.json") return StatusData();
  return {404, kText, "not found\n"};
}

void AdminApi::Tick() {
  history_.MaybeSample(absl::Now(), [this] { return Sample(); });
}

ThroughputSample AdminApi::Sample() const {
  ThroughputSample sample;
  for (const auto& shard : *shards_) {
    sample.accepted += Load(shard->smtp_counters().messages_accepted);
    const delivery::DeliveryCounters& d = shard->delivery_counters();
    sample.delivered += Load(d.recipients_delivered);
    sample.deferred += Load(d.recipients_deferred);
    sample.bounced += Load(d.recipients_bounced) + Load(d.recipients_expired);
    sample.queue_messages += shard->queue_messages();
    sample.queue_bytes += shard->queue_bytes();
    sample.smtp_connections += shard->open_connections();
    sample.outbound_connections += Load(d.active_connections);
  }
  return sample;
}

net::HttpResponse AdminApi::Queue(const net::QueryParams& params) const {
  size_t limit = kQueueRowsDefault;
  if (const std::string text = net::QueryValue(params, "limit");
      !text.empty() && !absl::SimpleAtoi(text, &limit)) {
    return {400, kText, "limit: not a number\n"};
  }
  absl::StatusOr<QueueFilter> filter = QueueFilter::FromQuery(params);
  if (!filter.ok()) return {400, kText, absl::StrCat(filter.status().message(), "\n")};
  std::vector<QueueListing> listings;
  uint64_t total = 0;
  uint64_t bytes = 0;
  for (const auto& shard : *shards_) {
    total += shard->queue_messages();
    bytes += shard->queue_bytes();
    std::optional<QueueListing> listing = shard->Ask<QueueListing>(
        [filter = *filter, limit](const ShardView& view, auto reply) mutable {
          ListQueue(view, filter, limit, std::move(reply));
        });
    if (!listing.has_value()) return Unavailable(shard->id());
    listings.push_back(*std::move(listing));
  }
  const absl::Time now = absl::Now();
  if (Text(params)) return {200, kText, QueueText(listings, limit, total, bytes, now)};
  if (JsonLines(params)) return {200, kJsonLines, QueueJsonLines(listings, limit, now)};
  return {200, kJson, QueueJson(listings, limit, total, bytes, now)};
}

net::HttpResponse AdminApi::Message(const net::QueryParams& params) const {
  std::optional<uint64_t> id = ParseQueueId(net::QueryValue(params, "id"));
  if (!id.has_value()) return {400, kText, "id: give a queue id (16 hex digits)\n"};
  if (net::QueryValue(params, "body") == "1") return MessageBody(*id);
  for (const auto& shard : *shards_) {
    std::optional<MessageDetails> details =
        shard->Ask<MessageDetails>([id = *id](const ShardView& view, auto reply) mutable {
          ShowMessage(view, id, std::move(reply));
        });
    if (!details.has_value()) return Unavailable(shard->id());
    if (!details->found) continue;
    const absl::Time now = absl::Now();
    if (Text(params)) return {200, kText, DetailsText(*details, now)};
    return {200, kJson, DetailsJson(*details, now)};
  }
  return {404, kText, absl::StrCat(FormatQueueId(*id), ": not in the queue\n")};
}

net::HttpResponse AdminApi::MessageBody(uint64_t id) const {
  for (const auto& shard : *shards_) {
    std::optional<StoredMessage> message =
        shard->Ask<StoredMessage>([id](const ShardView& view, auto reply) mutable {
          ReadStoredMessage(view, id, kShowMessageBytesMax, std::move(reply));
        });
    if (!message.has_value()) return Unavailable(shard->id());
    if (!message->found) continue;
    if (!message->read_error.empty()) {
      return {500, kText,
              absl::StrCat(FormatQueueId(id), ": unreadable: ", message->read_error, "\n")};
    }
    if (message->truncated) {
      absl::StrAppend(&message->text, "\n[ternctl: truncated: first ", kShowMessageBytesMax, " of ",
                      message->stored_bytes, " bytes shown]\n");
    }
    return {200, kText, std::move(message->text)};
  }
  return {404, kText, absl::StrCat(FormatQueueId(id), ": not in the queue\n")};
}

net::HttpResponse AdminApi::Shape(const net::QueryParams& params) const {
  size_t top = kShapeRowsDefault;
  if (const std::string text = net::QueryValue(params, "top");
      !text.empty() && (!absl::SimpleAtoi(text, &top) || top == 0)) {
    return {400, kText, "top: not a positive number\n"};
  }
  absl::StatusOr<QueueFilter> filter = QueueFilter::FromQuery(params);
  if (!filter.ok()) return {400, kText, absl::StrCat(filter.status().message(), "\n")};
  QueueShape merged;
  for (const auto& shard : *shards_) {
    std::optional<QueueShape> shape =
        shard->Ask<QueueShape>([filter = *filter](const ShardView& view, auto reply) mutable {
          ShapeQueue(view, filter, std::move(reply));
        });
    if (!shape.has_value()) return Unavailable(shard->id());
    merged.Merge(*shape);
  }
  merged.Truncate(top);
  if (Text(params)) return {200, kText, ShapeText(merged)};
  if (JsonLines(params)) return {200, kJsonLines, ShapeJsonLines(merged)};
  return {200, kJson, ShapeJson(merged)};
}

net::HttpResponse AdminApi::Action(QueueAction action, const net::QueryParams& params) const {
  absl::StatusOr<QueueFilter> filter = QueueFilter::FromQuery(params);
  if (!filter.ok()) return {400, kText, absl::StrCat(filter.status().message(), "\n")};
  const bool destructive = action == QueueAction::kDelete || action == QueueAction::kBounce;
  if (destructive && filter->everything() && net::QueryValue(params, "all") != "1") {
    return {400, kText,
            absl::StrCat(QueueActionName(action),
                         ": name the messages (id, domain, sender, recipient, age, state) or "
                         "say all=1\n")};
  }
  ActionOptions options;
  if (net::HasQueryKey(params, "reason")) {
    if (action != QueueAction::kBounce) return {400, kText, "reason: only for bounce\n"};
    absl::StatusOr<std::string> reason = BounceReason(params);
    if (!reason.ok()) return {400, kText, absl::StrCat(reason.status().message(), "\n")};
    options.bounce_reason = *std::move(reason);
  }
  if (net::HasQueryKey(params, "duration")) {
    if (action != QueueAction::kHold) return {400, kText, "duration: only for hold\n"};
    // Seconds (ternctl converts "2h"); up to ten years.
    static constexpr int64_t kHoldSecondsMax = int64_t{3650} * 86400;
    int64_t seconds = 0;
    if (!absl::SimpleAtoi(net::QueryValue(params, "duration"), &seconds) || seconds <= 0 ||
        seconds > kHoldSecondsMax) {
      return {400, kText, "duration: a number of seconds, 1 to 10 years\n"};
    }
    options.hold_until_unix_us = absl::ToUnixMicros(absl::Now() + absl::Seconds(seconds));
  }
  std::vector<ActionOutcome> outcomes;
  for (const auto& shard : *shards_) {
    std::optional<ActionOutcome> outcome = shard->Ask<ActionOutcome>(
        [action, filter = *filter, options](const ShardView& view, auto reply) mutable {
          ApplyQueueAction(view, action, filter, options, std::move(reply));
        });
    if (!outcome.has_value()) return Unavailable(shard->id());
    outcomes.push_back(*std::move(outcome));
  }
  if (Text(params)) return {200, kText, ActionText(action, outcomes)};
  return {200, kJson, ActionJson(action, outcomes)};
}

net::HttpResponse AdminApi::StatusData() const {
  std::vector<ShardStatus> shards;
  for (const auto& shard : *shards_) {
    std::optional<ShardStatus> status =
        shard->Ask<ShardStatus>([](const ShardView& view, auto reply) {
          ShardStatus s{.shard = view.shard_id};
          if (view.agent != nullptr) {
            s.destinations = view.agent->Destinations();
            const auto& recent = view.agent->recent_failures();
            s.recent.assign(recent.begin(), recent.end());
          }
          reply(std::move(s));
        });
    if (!status.has_value()) return Unavailable(shard->id());
    shards.push_back(*std::move(status));
  }
  return {200, kJson, StatusJson(history_, shards, absl::Now())};
}

net::HttpResponse AdminApi::Stats(const net::QueryParams& params) const {
  std::vector<ShardStats> stats;
  for (const auto& shard : *shards_) {
    std::optional<ShardStats> s = shard->Ask<ShardStats>(
        [](const ShardView& view, auto reply) { CollectShardStats(view, std::move(reply)); });
    if (!s.has_value()) return Unavailable(shard->id());
    stats.push_back(*std::move(s));
  }
  const Rates rates = history_.RatesOver(absl::Seconds(60));
  const absl::Time now = absl::Now();
  if (Text(params)) return {200, kText, StatsText(stats, rates, now)};
  return {200, kJson, StatsJson(stats, rates, now)};
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
  AppendHistogram(
      &out, "tern_smtp_accept_seconds",
      "From the end of a message's data to its 250 (its group commit and the wait for it).", shards,
      core::kLatencyBuckets, SecondsBound,
      [](const Shard& s, size_t i) { return Load(s.smtp_counters().accept_latency.buckets[i]); },
      [](const Shard& s) { return MicrosAsSeconds(s.smtp_counters().accept_latency.sum_micros); });
  AppendHistogram(
      &out, "tern_delivery_seconds",
      "From a message's arrival to the delivery of a recipient (retries included).", shards,
      delivery::kDeliveryDelayBuckets,
      [](size_t i) { return absl::StrFormat("%g", delivery::kDeliveryDelayBoundsSeconds[i]); },
      [](const Shard& s, size_t i) {
        return Load(s.delivery_counters().delivery_delay_histogram[i]);
      },
      [](const Shard& s) {
        return absl::StrFormat("%g", Load(s.delivery_counters().delivery_delay_sum_ms) / 1e3);
      });
  AppendFamily(&out, "tern_queue_messages", "gauge", "Messages in the queue.", shards,
               [](const Shard& s) { return s.queue_messages(); });
  AppendFamily(&out, "tern_queue_bytes", "gauge", "Body bytes of the messages in the queue.",
               shards, [](const Shard& s) { return s.queue_bytes(); });
  absl::StrAppend(&out,
                  "# HELP tern_queue_messages_by_state Messages in the queue: held, being "
                  "delivered (active) or waiting (for their first attempt or a retry).\n"
                  "# TYPE tern_queue_messages_by_state gauge\n");
  for (const auto& shard : shards) {
    const uint64_t total = shard->queue_messages();
    const uint64_t held = std::min(total, shard->queue_held());
    const uint64_t active =
        std::min(total - held, Load(shard->delivery_counters().active_messages));
    for (const auto& [state, n] : {std::pair<const char*, uint64_t>{"held", held},
                                   {"active", active},
                                   {"waiting", total - held - active}}) {
      absl::StrAppend(&out, "tern_queue_messages_by_state{shard=\"", shard->id(), "\",state=\"",
                      state, "\"} ", n, "\n");
    }
  }
  AppendDestinationMetrics(&out, shards);
  AppendSpoolMetrics(&out, shards);
  AppendDeliveryMetrics(&out, shards);
  return out;
}

}  // namespace tern::ternd
