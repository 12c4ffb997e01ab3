// DeliveryReport: what `ternctl report` tells a customer about a time window of the delivery
// log (like Postfix's pflogsumm): totals per event, per recipient domain and per sender
// domain, delivery delay percentiles, and the top remote errors grouped by their pattern
// (delivery/reply_pattern.h) with the recipient domains they came from.
//
// Lines are added one at a time (a streaming read); memory is bounded whatever the log
// holds: each table tracks at most a fixed number of keys and sums later newcomers into
// "other", the delays go into a fixed log-linear histogram, and the distinct deferred
// messages are counted up to a cap.
//
//   DeliveryReport report;
//   for (each line) if (auto e = ParseDeliveryLogLine(line)) report.Add(*e); else
//   report.AddSkipped();
//   for (const auto& row : report.RecipientDomains(10)) ...
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/time/time.h"
#include "tools/ternctl/delivery_log_entry.h"

namespace tern::tools::ternctl {

// Events counted, by kind (indexed by LogEvent).
struct EventCounts {
  std::array<uint64_t, kLogEvents> by_event{};
  uint64_t& operator[](LogEvent e) { return by_event[static_cast<int>(e)]; }
  uint64_t operator[](LogEvent e) const { return by_event[static_cast<int>(e)]; }
  uint64_t total() const;
  void Add(const EventCounts& other);
};

// Delays in milliseconds: log-linear buckets (32 per power of two, so a percentile is at
// most ~3% above the true value), fixed size.
class DelayHistogram {
 public:
  static constexpr int kSubBucketBits = 5;
  static constexpr int kExponentMax = 42;  // 2^42 ms ~ 139 years; longer values clamp
  static constexpr size_t kBuckets = (kExponentMax - kSubBucketBits + 2) << kSubBucketBits;

  void Record(int64_t delay_ms);
  uint64_t count() const { return count_; }
  int64_t max_ms() const { return max_ms_; }
  // The delay at or under which `quantile` (0..1) of the delays lie (a bucket's upper edge,
  // never above the maximum); 0 when empty.
  int64_t Percentile(double quantile) const;

  static size_t BucketOf(int64_t delay_ms);
  static int64_t BucketUpperEdge(size_t bucket);

 private:
  std::array<uint64_t, kBuckets> buckets_{};
  uint64_t count_ = 0;
  int64_t max_ms_ = 0;
};

class DeliveryReport {
 public:
  struct Limits {
    size_t domains_tracked_max = 10000;      // per table; later domains count as "other"
    size_t errors_tracked_max = 1000;        // error patterns; later ones count as "other"
    size_t error_domains_max = 5;            // domains named per error pattern
    size_t deferred_messages_max = 1 << 20;  // distinct deferred messages counted exactly
  };
  static constexpr absl::string_view kOther = "other";

  DeliveryReport() : DeliveryReport(Limits{}) {}
  explicit DeliveryReport(Limits limits) : limits_(limits) {}

  void Add(const DeliveryLogEntry& entry);
  // A line that was not a delivery log event (malformed, foreign, overlong).
  void AddSkipped() { ++skipped_lines_; }

  struct DomainRow {
    std::string domain;  // kOther: the domains beyond the top ones, summed
    EventCounts counts;
  };
  // The `top` domains with most events, busiest first, then one kOther row for the rest
  // (when there is any).
  std::vector<DomainRow> RecipientDomains(size_t top) const;
  std::vector<DomainRow> SenderDomains(size_t top) const;

  struct ErrorRow {
    std::string pattern;  // kOther: the patterns beyond the top ones (or beyond the cap)
    std::string example;  // the latest reply with this pattern
    uint64_t count = 0;
    EventCounts counts;                                     // deferred / bounced / expired
    std::vector<std::pair<std::string, uint64_t>> domains;  // busiest first
    uint64_t other_domains = 0;  // events from domains beyond those named
  };
  std::vector<ErrorRow> TopErrors(size_t top) const;

  // Failures (deferred, bounced, expired) by bounce class, most first; `domain` holds the
  // class name, "unclassified" for lines without one (written before classes existed).
  std::vector<DomainRow> FailureClasses() const;
  static constexpr absl::string_view kUnclassified = "unclassified";

  const EventCounts& totals() const { return totals_; }
  uint64_t deferred_messages() const { return deferred_messages_.size(); }
  // True when more messages were deferred than were counted one by one.
  bool deferred_messages_capped() const { return deferred_messages_capped_; }
  const DelayHistogram& delays() const { return delays_; }
  uint64_t skipped_lines() const { return skipped_lines_; }
  // The first and last event time seen (InfinitePast/InfiniteFuture when none).
  absl::Time first_event() const { return first_event_; }
  absl::Time last_event() const { return last_event_; }

 private:
  struct DomainTable {
    absl::flat_hash_map<std::string, EventCounts> domains;
    EventCounts other;
  };
  struct ErrorGroup {
    std::string example;
    uint64_t count = 0;
    EventCounts counts;
    std::vector<std::pair<std::string, uint64_t>> domains;
    uint64_t other_domains = 0;
  };

  void Count(DomainTable* table, const std::string& domain, LogEvent event);
  void CountError(const DeliveryLogEntry& entry, const std::string& domain);
  std::vector<DomainRow> Top(const DomainTable& table, size_t top) const;

  Limits limits_;
  EventCounts totals_;
  DomainTable recipient_domains_;
  DomainTable sender_domains_;
  absl::flat_hash_map<std::string, ErrorGroup> errors_;
  // By class name; bounded: only names delivery::ParseBounceClassName knows, and
  // kUnclassified.
  absl::flat_hash_map<std::string, EventCounts> failure_classes_;
  ErrorGroup other_errors_;
  absl::flat_hash_set<uint64_t> deferred_messages_;
  bool deferred_messages_capped_ = false;
  DelayHistogram delays_;
  uint64_t skipped_lines_ = 0;
  absl::Time first_event_ = absl::InfiniteFuture();
  absl::Time last_event_ = absl::InfinitePast();
};

}  // namespace tern::tools::ternctl
