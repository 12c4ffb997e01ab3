// SourceStats: counters and latency histograms of tern-bench source, and the summary
// (source_stats.h).
#include "tools/tern_bench/source_stats.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/json_writer.h"

namespace tern::tools::tern_bench {
namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;

struct Quantile {
  const char* name;
  double q;
};
constexpr Quantile kQuantiles[] = {{"p50", 0.50}, {"p90", 0.90}, {"p99", 0.99}, {"p99.9", 0.999}};

std::string Millis(int64_t nanoseconds) {
  return absl::StrFormat("%.3f", static_cast<double>(nanoseconds) / 1e6);
}

}  // namespace

const char* PhaseName(Phase phase) {
  switch (phase) {
    case Phase::kConnect:
      return "connect";
    case Phase::kGreeting:
      return "greeting";
    case Phase::kEhlo:
      return "ehlo";
    case Phase::kEnvelope:
      return "envelope";
    case Phase::kTls:
      return "tls";
    case Phase::kData:
      return "data";
    case Phase::kMessage:
      return "message";
  }
  return "?";
}

const char* FailStageName(FailStage stage) {
  switch (stage) {
    case FailStage::kMail:
      return "mail";
    case FailStage::kRcpt:
      return "rcpt";
    case FailStage::kData:
      return "data";
    case FailStage::kDataEnd:
      return "end_of_data";
    case FailStage::kConnection:
      return "connection";
  }
  return "?";
}

void SourceStats::CountReply(int code) {
  if (code >= kMinCode && code <= kMaxCode) Add(&replies_[code - kMinCode], 1);
}

void SourceStats::MessageDelivered(uint64_t bytes, uint32_t recipients) {
  Add(&delivered_, 1);
  Add(&bytes_, bytes);
  Add(&recipients_delivered_, recipients);
}

void SourceStats::MessageFailed(FailStage stage) { Add(&failed_[static_cast<size_t>(stage)], 1); }

uint64_t SourceStats::failed() const {
  uint64_t total = 0;
  for (const auto& f : failed_) total += f.load(kRelaxed);
  return total;
}

uint64_t SourceStats::replies(int code) const {
  if (code < kMinCode || code > kMaxCode) return 0;
  return replies_[code - kMinCode].load(kRelaxed);
}

void SourceStats::Merge(const SourceStats& other) {
  for (size_t i = 0; i < kPhaseCount; ++i) phases_[i].Merge(other.phases_[i]);
  for (size_t i = 0; i < replies_.size(); ++i) Add(&replies_[i], other.replies_[i].load(kRelaxed));
  for (size_t i = 0; i < failed_.size(); ++i) Add(&failed_[i], other.failed_[i].load(kRelaxed));
  Add(&delivered_, other.delivered());
  Add(&bytes_, other.bytes());
  Add(&recipients_delivered_, other.recipients_delivered());
  Add(&recipients_refused_, other.recipients_refused());
  Add(&connections_, other.connections());
  Add(&connection_errors_, other.connection_errors());
}

std::string FormatSummaryText(const SourceSummaryInput& input, const SourceStats& stats) {
  const double seconds = input.seconds > 0 ? input.seconds : 1e-9;
  std::string out;
  absl::StrAppendFormat(&out, "tern-bench source: %s, %s, size %s\n", input.target, input.mode,
                        input.sizes);
  absl::StrAppendFormat(&out, "  messages   %llu delivered, %llu failed", stats.delivered(),
                        stats.failed());
  if (input.planned != 0) absl::StrAppendFormat(&out, " (of %llu)", input.planned);
  absl::StrAppendFormat(&out, " in %.2f s\n", input.seconds);
  absl::StrAppendFormat(&out, "  throughput %.0f msgs/s, %.2f MB/s\n",
                        static_cast<double>(stats.delivered()) / seconds,
                        static_cast<double>(stats.bytes()) / seconds / 1e6);
  absl::StrAppendFormat(&out,
                        "  recipients %llu delivered, %llu refused; connections %llu opened, "
                        "%llu failed\n",
                        stats.recipients_delivered(), stats.recipients_refused(),
                        stats.connections(), stats.connection_errors());
  if (stats.failed() != 0) {
    out += "  failed at ";
    for (size_t i = 0; i < kFailStageCount; ++i) {
      const FailStage stage = static_cast<FailStage>(i);
      if (stats.failed_at(stage) != 0) {
        absl::StrAppendFormat(&out, " %s=%llu", FailStageName(stage), stats.failed_at(stage));
      }
    }
    out += "\n";
  }
  out += "  replies   ";
  for (int code = SourceStats::kMinCode; code <= SourceStats::kMaxCode; ++code) {
    if (stats.replies(code) != 0)
      absl::StrAppendFormat(&out, " %d=%llu", code, stats.replies(code));
  }
  out += "\n";
  absl::StrAppendFormat(&out, "  %-9s %9s %9s %9s %9s %9s %9s %9s  (ms)\n", "latency", "count",
                        "p50", "p90", "p99", "p99.9", "max", "mean");
  for (size_t i = 0; i < kPhaseCount; ++i) {
    const LatencyHistogram& h = stats.phase(static_cast<Phase>(i));
    absl::StrAppendFormat(&out, "  %-9s %9llu", PhaseName(static_cast<Phase>(i)), h.count());
    for (const Quantile& q : kQuantiles)
      absl::StrAppendFormat(&out, " %9s", Millis(h.Percentile(q.q)));
    absl::StrAppendFormat(&out, " %9s %9s\n", Millis(h.max()),
                          Millis(static_cast<int64_t>(h.mean())));
  }
  return out;
}

std::string FormatSummaryJson(const SourceSummaryInput& input, const SourceStats& stats) {
  const double seconds = input.seconds > 0 ? input.seconds : 1e-9;
  std::string out;
  core::JsonWriter json(&out);
  json.BeginObject();
  json.Key("target");
  json.String(input.target);
  json.Key("mode");
  json.String(input.mode);
  json.Key("sizes");
  json.String(input.sizes);
  json.Key("seconds");
  json.Raw(absl::StrFormat("%.3f", input.seconds));
  json.Key("planned");
  json.Number(input.planned);
  json.Key("delivered");
  json.Number(stats.delivered());
  json.Key("failed");
  json.Number(stats.failed());
  json.Key("failed_at");
  json.BeginObject();
  for (size_t i = 0; i < kFailStageCount; ++i) {
    json.Key(FailStageName(static_cast<FailStage>(i)));
    json.Number(stats.failed_at(static_cast<FailStage>(i)));
  }
  json.EndObject();
  json.Key("msgs_per_s");
  json.Raw(absl::StrFormat("%.1f", static_cast<double>(stats.delivered()) / seconds));
  json.Key("bytes");
  json.Number(stats.bytes());
  json.Key("recipients_delivered");
  json.Number(stats.recipients_delivered());
  json.Key("recipients_refused");
  json.Number(stats.recipients_refused());
  json.Key("connections");
  json.Number(stats.connections());
  json.Key("connection_errors");
  json.Number(stats.connection_errors());
  json.Key("replies");
  json.BeginObject();
  for (int code = SourceStats::kMinCode; code <= SourceStats::kMaxCode; ++code) {
    if (stats.replies(code) == 0) continue;
    json.Key(absl::StrCat(code));
    json.Number(stats.replies(code));
  }
  json.EndObject();
  json.Key("latency_ms");
  json.BeginObject();
  for (size_t i = 0; i < kPhaseCount; ++i) {
    const LatencyHistogram& h = stats.phase(static_cast<Phase>(i));
    json.Key(PhaseName(static_cast<Phase>(i)));
    json.BeginObject();
    json.Key("count");
    json.Number(h.count());
    for (const Quantile& q : kQuantiles) {
      json.Key(q.name);
      json.Raw(Millis(h.Percentile(q.q)));
    }
    json.Key("max");
    json.Raw(Millis(h.max()));
    json.Key("mean");
    json.Raw(Millis(static_cast<int64_t>(h.mean())));
    json.EndObject();
  }
  json.EndObject();
  json.EndObject();
  out += "\n";
  return out;
}

}  // namespace tern::tools::tern_bench
