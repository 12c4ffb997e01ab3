// Implementation of tools/ternctl/delivery_report.h.
#include "tools/ternctl/delivery_report.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include "core/check.h"
#include "delivery/reply_pattern.h"

namespace tern::tools::ternctl {

uint64_t EventCounts::total() const {
  uint64_t sum = 0;
  for (uint64_t n : by_event) sum += n;
  return sum;
}

void EventCounts::Add(const EventCounts& other) {
  for (int i = 0; i < kLogEvents; ++i) by_event[i] += other.by_event[i];
}

size_t DelayHistogram::BucketOf(int64_t delay_ms) {
  constexpr int64_t kExact = int64_t{1} << (kSubBucketBits + 1);  // 0..63 exactly
  if (delay_ms < kExact) return static_cast<size_t>(std::max<int64_t>(delay_ms, 0));
  const uint64_t v = static_cast<uint64_t>(delay_ms);
  int exponent = std::bit_width(v) - 1;  // >= kSubBucketBits + 1
  if (exponent > kExponentMax) return kBuckets - 1;
  const uint64_t sub = (v >> (exponent - kSubBucketBits)) & ((uint64_t{1} << kSubBucketBits) - 1);
  return static_cast<size_t>(((exponent - kSubBucketBits + 1) << kSubBucketBits) + sub);
}

int64_t DelayHistogram::BucketUpperEdge(size_t bucket) {
  constexpr size_t kExact = size_t{1} << (kSubBucketBits + 1);
  if (bucket < kExact) return static_cast<int64_t>(bucket);
  const int exponent = static_cast<int>(bucket >> kSubBucketBits) + kSubBucketBits - 1;
  const uint64_t sub = bucket & ((size_t{1} << kSubBucketBits) - 1);
  const int shift = exponent - kSubBucketBits;
  return static_cast<int64_t>((((uint64_t{1} << kSubBucketBits) + sub + 1) << shift) - 1);
}

void DelayHistogram::Record(int64_t delay_ms) {
  delay_ms = std::max<int64_t>(delay_ms, 0);
  const size_t bucket = BucketOf(delay_ms);
  CHECK_LT(bucket, kBuckets);
  ++buckets_[bucket];
  ++count_;
  max_ms_ = std::max(max_ms_, delay_ms);
}

int64_t DelayHistogram::Percentile(double quantile) const {
  if (count_ == 0) return 0;
  quantile = std::clamp(quantile, 0.0, 1.0);
  const uint64_t rank = std::max<uint64_t>(
      1, static_cast<uint64_t>(std::ceil(quantile * static_cast<double>(count_))));
  uint64_t seen = 0;
  for (size_t b = 0; b < kBuckets; ++b) {
    seen += buckets_[b];
    if (seen >= rank) return std::min(BucketUpperEdge(b), max_ms_);
  }
  return max_ms_;
}

void DeliveryReport::Add(const DeliveryLogEntry& entry) {
  ++totals_[entry.event];
  first_event_ = std::min(first_event_, entry.time);
  last_event_ = std::max(last_event_, entry.time);
  Count(&sender_domains_, LogAddressDomain(entry.sender), entry.event);
  if (entry.event == LogEvent::kReceived) return;  // message-level: no recipient
  const std::string domain = LogAddressDomain(entry.recipient);
  Count(&recipient_domains_, domain, entry.event);
  switch (entry.event) {
    case LogEvent::kDelivered:
      if (entry.delay_ms.has_value()) delays_.Record(*entry.delay_ms);
      break;
    case LogEvent::kDeferred:
      if (deferred_messages_.size() < limits_.deferred_messages_max) {
        deferred_messages_.insert(entry.queue_id);
      } else if (!deferred_messages_.contains(entry.queue_id)) {
        deferred_messages_capped_ = true;
      }
      CountError(entry, domain);
      break;
    case LogEvent::kBounced:
    case LogEvent::kExpired:
      CountError(entry, domain);
      break;
    default:
      break;
  }
}

void DeliveryReport::Count(DomainTable* table, const std::string& domain, LogEvent event) {
  auto it = table->domains.find(domain);
  if (it == table->domains.end()) {
    if (table->domains.size() >= limits_.domains_tracked_max) {
      ++table->other[event];
      return;
    }
    it = table->domains.emplace(domain, EventCounts{}).first;
  }
  ++it->second[event];
}

void DeliveryReport::CountError(const DeliveryLogEntry& entry, const std::string& domain) {
  ++failure_classes_[entry.bounce_class.empty() ? std::string(kUnclassified) : entry.bounce_class]
                    [entry.event];
  std::string pattern = delivery::ReplyPattern(entry.reply);
  if (pattern.empty()) pattern = "(no reply)";
  ErrorGroup* group = &other_errors_;
  if (auto it = errors_.find(pattern); it != errors_.end()) {
    group = &it->second;
  } else if (errors_.size() < limits_.errors_tracked_max) {
    group = &errors_.emplace(std::move(pattern), ErrorGroup{}).first->second;
  }
  ++group->count;
  ++group->counts[entry.event];
  group->example = entry.reply.substr(0, delivery::kReplyPatternBytesMax);
  auto d = std::find_if(group->domains.begin(), group->domains.end(),
                        [&](const auto& named) { return named.first == domain; });
  if (d != group->domains.end()) {
    ++d->second;
  } else if (group->domains.size() < limits_.error_domains_max) {
    group->domains.emplace_back(domain, 1);
  } else {
    ++group->other_domains;
  }
}

std::vector<DeliveryReport::DomainRow> DeliveryReport::Top(const DomainTable& table,
                                                           size_t top) const {
  std::vector<DomainRow> rows;
  rows.reserve(table.domains.size());
  for (const auto& [domain, counts] : table.domains) rows.push_back({domain, counts});
  std::sort(rows.begin(), rows.end(), [](const DomainRow& a, const DomainRow& b) {
    if (a.counts.total() != b.counts.total()) return a.counts.total() > b.counts.total();
    return a.domain < b.domain;
  });
  DomainRow other{std::string(kOther), table.other};
  for (size_t i = top; i < rows.size(); ++i) other.counts.Add(rows[i].counts);
  if (rows.size() > top) rows.resize(top);
  if (other.counts.total() > 0) rows.push_back(std::move(other));
  return rows;
}

std::vector<DeliveryReport::DomainRow> DeliveryReport::RecipientDomains(size_t top) const {
  return Top(recipient_domains_, top);
}

std::vector<DeliveryReport::DomainRow> DeliveryReport::SenderDomains(size_t top) const {
  return Top(sender_domains_, top);
}

std::vector<DeliveryReport::ErrorRow> DeliveryReport::TopErrors(size_t top) const {
  auto row = [](std::string pattern, const ErrorGroup& g) {
    ErrorRow r{.pattern = std::move(pattern),
               .example = g.example,
               .count = g.count,
               .counts = g.counts,
               .domains = g.domains,
               .other_domains = g.other_domains};
    std::sort(r.domains.begin(), r.domains.end(),
              [](const auto& a, const auto& b) { return a.second > b.second; });
    return r;
  };
  std::vector<ErrorRow> rows;
  rows.reserve(errors_.size());
  for (const auto& [pattern, group] : errors_) rows.push_back(row(pattern, group));
  std::sort(rows.begin(), rows.end(), [](const ErrorRow& a, const ErrorRow& b) {
    if (a.count != b.count) return a.count > b.count;
    return a.pattern < b.pattern;
  });
  ErrorRow other = row(std::string(kOther), other_errors_);
  for (size_t i = top; i < rows.size(); ++i) {
    other.count += rows[i].count;
    other.counts.Add(rows[i].counts);
  }
  if (rows.size() > top) rows.resize(top);
  if (other.count > 0) {
    other.example.clear();
    other.domains.clear();
    other.other_domains = 0;
    rows.push_back(std::move(other));
  }
  return rows;
}

std::vector<DeliveryReport::DomainRow> DeliveryReport::FailureClasses() const {
  std::vector<DomainRow> rows;
  for (const auto& [name, counts] : failure_classes_) rows.push_back({name, counts});
  std::sort(rows.begin(), rows.end(), [](const DomainRow& a, const DomainRow& b) {
    if (a.counts.total() != b.counts.total()) return a.counts.total() > b.counts.total();
    return a.domain < b.domain;
  });
  return rows;
}

}  // namespace tern::tools::ternctl
