// Implementation of queue/queue_shape.h.
#include "queue/queue_shape.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/json_writer.h"

namespace tern::queue {
namespace {

void AddCounts(const QueueShape::Row& from, QueueShape::Row* to) {
  to->total += from.total;
  for (size_t i = 0; i < QueueShape::kBuckets; ++i) to->counts[i] += from.counts[i];
}

bool Larger(const QueueShape::Row& a, const QueueShape::Row& b) {
  const bool a_other = a.domain == kShapeOtherDomain;
  const bool b_other = b.domain == kShapeOtherDomain;
  if (a_other != b_other) return b_other;
  if (a.total != b.total) return a.total > b.total;
  return a.domain < b.domain;
}

std::string BucketName(size_t i) {
  if (i < QueueShape::kBucketMinutes.size()) return absl::StrCat(QueueShape::kBucketMinutes[i]);
  return absl::StrCat(QueueShape::kBucketMinutes.back(), "+");
}

void RowText(const QueueShape::Row& row, size_t domain_width, std::string* out) {
  absl::StrAppendFormat(out, "%*s %6d", domain_width, row.domain, row.total);
  for (const uint64_t n : row.counts) absl::StrAppendFormat(out, " %5d", n);
  out->push_back('\n');
}

void RowJson(const QueueShape::Row& row, core::JsonWriter* json) {
  json->BeginObject();
  json->Key("domain");
  json->String(row.domain);
  json->Key("total");
  json->Number(row.total);
  json->Key("counts");
  json->BeginArray();
  for (const uint64_t n : row.counts) json->Number(n);
  json->EndArray();
  json->EndObject();
}

}  // namespace

size_t QueueShape::BucketOf(absl::Duration age) {
  for (size_t i = 0; i < kBucketMinutes.size(); ++i) {
    if (age < absl::Minutes(kBucketMinutes[i])) return i;
  }
  return kBuckets - 1;
}

void QueueShape::Add(const std::vector<std::string>& domains, absl::Duration age) {
  const size_t bucket = BucketOf(age);
  ++total_.total;
  ++total_.counts[bucket];
  for (const std::string& domain : domains) {
    Row& row = rows_[domain];
    if (row.domain.empty()) row.domain = domain;
    ++row.total;
    ++row.counts[bucket];
  }
}

void QueueShape::Merge(const QueueShape& other) {
  AddCounts(other.total_, &total_);
  for (const auto& [domain, row] : other.rows_) {
    Row& mine = rows_[domain];
    if (mine.domain.empty()) mine.domain = domain;
    AddCounts(row, &mine);
  }
}

void QueueShape::Truncate(size_t rows_max) {
  if (rows_.size() <= rows_max) return;
  std::vector<Row> rows = Rows();
  Row other{.domain = kShapeOtherDomain};
  absl::flat_hash_map<std::string, Row> kept;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (i < rows_max && rows[i].domain != kShapeOtherDomain) {
      kept.emplace(rows[i].domain, std::move(rows[i]));
    } else {
      AddCounts(rows[i], &other);
    }
  }
  kept.emplace(other.domain, std::move(other));
  rows_ = std::move(kept);
}

std::vector<QueueShape::Row> QueueShape::Rows() const {
  std::vector<Row> rows;
  rows.reserve(rows_.size());
  for (const auto& [domain, row] : rows_) rows.push_back(row);
  std::sort(rows.begin(), rows.end(), Larger);
  return rows;
}

std::string ShapeText(const QueueShape& shape) {
  const std::vector<QueueShape::Row> rows = shape.Rows();
  size_t width = 5;  // "TOTAL"
  for (const QueueShape::Row& row : rows) width = std::max(width, row.domain.size());
  width = std::min<size_t>(width, 60);
  std::string out = absl::StrFormat("%*s %6s", width, "", "T");
  for (size_t i = 0; i < QueueShape::kBuckets; ++i) {
    absl::StrAppendFormat(&out, " %5s", BucketName(i));
  }
  out.push_back('\n');
  RowText(shape.total(), width, &out);
  for (const QueueShape::Row& row : rows) RowText(row, width, &out);
  return out;
}

std::string ShapeJson(const QueueShape& shape) {
  std::string out;
  core::JsonWriter json(&out);
  json.BeginObject();
  json.Key("unit");
  json.String("messages");
  json.Key("buckets");
  json.BeginArray();
  for (size_t i = 0; i < QueueShape::kBuckets; ++i) json.String(BucketName(i));
  json.EndArray();
  json.Key("total");
  RowJson(shape.total(), &json);
  json.Key("domains");
  json.BeginArray();
  for (const QueueShape::Row& row : shape.Rows()) RowJson(row, &json);
  json.EndArray();
  json.EndObject();
  out.push_back('\n');
  return out;
}

std::string ShapeJsonLines(const QueueShape& shape) {
  std::string out;
  core::JsonWriter json(&out);
  RowJson(shape.total(), &json);
  out.push_back('\n');
  for (const QueueShape::Row& row : shape.Rows()) {
    RowJson(row, &json);
    out.push_back('\n');
  }
  return out;
}

}  // namespace tern::queue
