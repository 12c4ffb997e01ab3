// Progress line and summary of `tern-bench sink` (sink_report.h).
#include "tools/tern_bench/sink_report.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/json_writer.h"

namespace tern::tools::tern_bench {
namespace {

double PerSecond(uint64_t count, absl::Duration over) {
  const double seconds = absl::ToDoubleSeconds(over);
  return seconds > 0 ? static_cast<double>(count) / seconds : 0.0;
}

// "250:91536 354:30512", codes in increasing order.
std::string RepliesText(const SinkTotals& totals) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < kReplyCodeSlots; ++i) {
    if (totals.replies[i] != 0) {
      parts.push_back(absl::StrCat(kReplyCodeMin + static_cast<int>(i), ":", totals.replies[i]));
    }
  }
  return parts.empty() ? "none" : absl::StrJoin(parts, " ");
}

// "tempfail rcpt:3 dot:1; delay dot:30512".
std::string FaultsText(const SinkTotals& totals) {
  std::vector<std::string> kinds;
  for (size_t k = 0; k < kFaultKindCount; ++k) {
    std::vector<std::string> stages;
    for (size_t s = 0; s < kFaultStageCount; ++s) {
      if (totals.faults[k][s] != 0) {
        stages.push_back(
            absl::StrCat(FaultStageName(static_cast<FaultStage>(s)), ":", totals.faults[k][s]));
      }
    }
    if (!stages.empty())
      kinds.push_back(absl::StrCat(FaultKindName(k), " ", absl::StrJoin(stages, " ")));
  }
  return kinds.empty() ? "none" : absl::StrJoin(kinds, "; ");
}

}  // namespace

std::string FormatProgressLine(const SinkTotals& now, const SinkTotals& before,
                               absl::Duration interval, absl::Duration elapsed) {
  const uint64_t delta = now.messages_accepted - before.messages_accepted;
  return absl::StrFormat("sink: %ds %.0f msgs/s total %d verified %d bad %d conns %d",
                         absl::ToInt64Seconds(elapsed), PerSecond(delta, interval),
                         now.messages_accepted, now.verified, now.checksum_mismatches,
                         now.connections_open);
}

std::string FormatSummaryText(const SinkTotals& t, absl::Duration elapsed, uint64_t seed) {
  std::string out;
  auto row = [&out](absl::string_view name, absl::string_view value) {
    absl::StrAppendFormat(&out, "  %-21s %s\n", name, value);
  };
  absl::StrAppendFormat(&out, "tern-bench sink summary\n");
  row("elapsed", absl::StrFormat("%.3f s", absl::ToDoubleSeconds(elapsed)));
  row("messages", absl::StrCat(t.messages_accepted, " (answered 250 at end of data)"));
  row("msgs/s", absl::StrFormat("%.1f", PerSecond(t.messages_accepted, elapsed)));
  row("recipients", absl::StrCat(t.recipients_accepted));
  row("bytes", absl::StrCat(t.bytes_accepted));
  row("received", absl::StrCat(t.messages_received, " (reached end of data, any reply)"));
  row("verified", absl::StrCat(t.verified));
  row("unverified", absl::StrCat(t.unverified, " (no checksum header)"));
  row("checksum mismatches", absl::StrCat(t.checksum_mismatches));
  row("connections", absl::StrCat(t.connections_accepted));
  row("replies", RepliesText(t));
  row("faults", FaultsText(t));
  if (t.record_lines_dropped != 0)
    row("record lines dropped", absl::StrCat(t.record_lines_dropped));
  row("seed", absl::StrCat(seed));
  return out;
}

std::string FormatSummaryJson(const SinkTotals& t, absl::Duration elapsed, uint64_t seed) {
  std::string out;
  core::JsonWriter json(&out);
  auto number = [&json](absl::string_view key, uint64_t value) {
    json.Key(key);
    json.Number(value);
  };
  json.BeginObject();
  json.Key("mode");
  json.String("sink");
  json.Key("elapsed_seconds");
  json.Raw(absl::StrFormat("%.3f", absl::ToDoubleSeconds(elapsed)));
  number("messages", t.messages_accepted);
  number("recipients", t.recipients_accepted);
  number("bytes", t.bytes_accepted);
  json.Key("msgs_per_second");
  json.Raw(absl::StrFormat("%.1f", PerSecond(t.messages_accepted, elapsed)));
  number("messages_received", t.messages_received);
  number("verified", t.verified);
  number("unverified", t.unverified);
  number("checksum_mismatches", t.checksum_mismatches);
  number("connections", t.connections_accepted);
  json.Key("replies");
  json.BeginObject();
  for (size_t i = 0; i < kReplyCodeSlots; ++i) {
    if (t.replies[i] != 0) number(absl::StrCat(kReplyCodeMin + static_cast<int>(i)), t.replies[i]);
  }
  json.EndObject();
  json.Key("faults");
  json.BeginObject();
  for (size_t k = 0; k < kFaultKindCount; ++k) {
    json.Key(FaultKindName(k));
    json.BeginObject();
    for (size_t s = 0; s < kFaultStageCount; ++s) {
      if (t.faults[k][s] != 0) {
        number(FaultStageName(static_cast<FaultStage>(s)), t.faults[k][s]);
      }
    }
    json.EndObject();
  }
  json.EndObject();
  number("record_lines_dropped", t.record_lines_dropped);
  number("seed", seed);
  json.EndObject();
  out.push_back('\n');
  return out;
}

}  // namespace tern::tools::tern_bench
