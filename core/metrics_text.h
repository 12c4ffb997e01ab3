// MetricsText: appends the Prometheus text exposition format (version 0.0.4) to a string:
// a family's HELP and TYPE lines, then its samples, each with its labels escaped. Histograms
// are written whole (cumulative buckets, the +Inf bucket, _sum and _count) from per-bucket
// counts. Numbers that must be exact (a histogram's _sum, bucket bounds) are written from
// integers in fixed units by Decimal()/ShortDecimal(), never through a double.
//
//   MetricsText text(&out);
//   text.Family("tern_smtp_commands_total", MetricType::kCounter, "SMTP command lines.");
//   text.Sample({{"shard", "0"}}, 42);                   // tern_smtp_commands_total{shard="0"} 42
//   text.Family("tern_spool_commit_duration_seconds", MetricType::kHistogram, "...");
//   text.Histogram({{"shard", "0"}}, bounds, counts, Decimal(sum_micros, 6));
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>

#include "absl/strings/string_view.h"

namespace tern::core {

enum class MetricType { kCounter, kGauge, kHistogram };

struct MetricLabel {
  absl::string_view name;
  absl::string_view value;  // escaped when written
};
using MetricLabels = std::initializer_list<MetricLabel>;

class MetricsText {
 public:
  explicit MetricsText(std::string* out) : out_(out) {}

  // Starts a family; the samples that follow belong to it (a family's samples must be
  // contiguous). `name` must be a valid metric name; `help` a single line.
  void Family(absl::string_view name, MetricType type, absl::string_view help);
  // One sample of the current counter or gauge family.
  void Sample(MetricLabels labels, uint64_t value);
  void Sample(MetricLabels labels, absl::string_view value);
  // One series of the current histogram family: counts[i] observations in bucket i (not
  // cumulative) whose upper bound is bounds[i]; the last bucket is +Inf and has no bound
  // (bounds.size() + 1 == counts.size()). `sum` is the exact sum, already formatted.
  void Histogram(MetricLabels labels, std::span<const std::string> bounds,
                 std::span<const uint64_t> counts, absl::string_view sum);

 private:
  void AppendSeries(absl::string_view suffix, MetricLabels labels, MetricLabel extra);

  std::string* out_;
  std::string family_;
  MetricType type_ = MetricType::kGauge;
};

// `value` / 10^fraction_digits in fixed point: Decimal(12345678901, 6) == "12345.678901".
std::string Decimal(uint64_t value, int fraction_digits);
// The same without trailing zeros (nor a trailing point): ShortDecimal(64, 6) == "0.000064",
// ShortDecimal(2500, 3) == "2.5", ShortDecimal(14400000, 3) == "14400".
std::string ShortDecimal(uint64_t value, int fraction_digits);
// Appends `value` as a label value: backslash, double quote and newline escaped.
void AppendLabelValue(absl::string_view value, std::string* out);

}  // namespace tern::core
