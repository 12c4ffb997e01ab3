// Implementation of core/metrics_text.h.
#include "core/metrics_text.h"

#include "absl/strings/str_cat.h"
#include "core/check.h"

namespace tern::core {
namespace {

absl::string_view TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

}  // namespace

void MetricsText::Family(absl::string_view name, MetricType type, absl::string_view help) {
  CHECK(!name.empty());
  CHECK(help.find('\n') == absl::string_view::npos);
  family_ = std::string(name);
  type_ = type;
  absl::StrAppend(out_, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", TypeName(type), "\n");
}

void MetricsText::AppendSeries(absl::string_view suffix, MetricLabels labels, MetricLabel extra) {
  absl::StrAppend(out_, family_, suffix);
  bool first = true;
  auto append = [&](const MetricLabel& label) {
    absl::StrAppend(out_, first ? "{" : ",", label.name, "=\"");
    AppendLabelValue(label.value, out_);
    out_->push_back('"');
    first = false;
  };
  for (const MetricLabel& label : labels) append(label);
  if (!extra.name.empty()) append(extra);
  if (!first) out_->push_back('}');
  out_->push_back(' ');
}

void MetricsText::Sample(MetricLabels labels, uint64_t value) {
  Sample(labels, absl::StrCat(value));
}

void MetricsText::Sample(MetricLabels labels, absl::string_view value) {
  CHECK(!family_.empty());
  CHECK(type_ != MetricType::kHistogram);
  AppendSeries("", labels, {});
  absl::StrAppend(out_, value, "\n");
}

void MetricsText::Histogram(MetricLabels labels, std::span<const std::string> bounds,
                            std::span<const uint64_t> counts, absl::string_view sum) {
  CHECK(type_ == MetricType::kHistogram);
  CHECK(bounds.size() + 1 == counts.size());
  uint64_t cumulative = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    cumulative += counts[i];
    AppendSeries("_bucket", labels, {"le", i < bounds.size() ? bounds[i] : "+Inf"});
    absl::StrAppend(out_, cumulative, "\n");
  }
  AppendSeries("_sum", labels, {});
  absl::StrAppend(out_, sum, "\n");
  AppendSeries("_count", labels, {});
  absl::StrAppend(out_, cumulative, "\n");
}

std::string Decimal(uint64_t value, int fraction_digits) {
  CHECK(fraction_digits >= 0 && fraction_digits <= 18);
  if (fraction_digits == 0) return absl::StrCat(value);
  uint64_t scale = 1;
  for (int i = 0; i < fraction_digits; ++i) scale *= 10;
  std::string fraction = absl::StrCat(value % scale);
  fraction.insert(0, static_cast<size_t>(fraction_digits) - fraction.size(), '0');
  return absl::StrCat(value / scale, ".", fraction);
}

std::string ShortDecimal(uint64_t value, int fraction_digits) {
  std::string text = Decimal(value, fraction_digits);
  if (fraction_digits == 0) return text;
  while (text.back() == '0') text.pop_back();
  if (text.back() == '.') text.pop_back();
  return text;
}

void AppendLabelValue(absl::string_view value, std::string* out) {
  for (const char c : value) {
    if (c == '\\' || c == '"') {
      out->push_back('\\');
      out->push_back(c);
    } else if (c == '\n') {
      out->append("\\n");
    } else {
      out->push_back(c);
    }
  }
}

}  // namespace tern::core
