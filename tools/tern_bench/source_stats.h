// SourceStats: what `tern-bench source` measures, per worker thread. The worker writes;
// the main thread reads the live counters and histograms (relaxed atomics) for the
// progress line, and merges every worker's stats into the summary at the end.
//
// Phases (durations in nanoseconds, one sample per event):
//   connect   connect() submitted -> connected
//   greeting  connected -> 220 received
//   ehlo      EHLO sent -> its 250
//   tls       STARTTLS sent -> TLS handshake completed (--tls only)
//   envelope  MAIL sent -> the last envelope reply (354 to DATA, or the last RCPT's with BDAT)
//   data      end of data sent (the final dot, or the BDAT LAST chunk) -> its reply
//   message   the message's start -> its final reply; the start is its scheduled arrival
//             with --rate (open loop: time spent waiting for a free connection counts, so
//             there is no coordinated omission), else the moment MAIL was sent
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "tools/tern_bench/latency_histogram.h"

namespace tern::tools::tern_bench {

enum class Phase : uint8_t { kConnect, kGreeting, kEhlo, kTls, kEnvelope, kData, kMessage };
inline constexpr size_t kPhaseCount = 7;
const char* PhaseName(Phase phase);

// Which step a failed message failed at.
enum class FailStage : uint8_t { kMail, kRcpt, kData, kDataEnd, kConnection };
inline constexpr size_t kFailStageCount = 5;
const char* FailStageName(FailStage stage);

class SourceStats {
 public:
  void Record(Phase phase, int64_t nanoseconds) {
    phases_[static_cast<size_t>(phase)].Record(nanoseconds);
  }
  void CountReply(int code);
  void MessageDelivered(uint64_t bytes, uint32_t recipients);
  void MessageFailed(FailStage stage);
  void RecipientRefused() { Add(&recipients_refused_, 1); }
  void ConnectionOpened() { Add(&connections_, 1); }
  void ConnectionFailed() { Add(&connection_errors_, 1); }

  const LatencyHistogram& phase(Phase phase) const { return phases_[static_cast<size_t>(phase)]; }
  uint64_t delivered() const { return delivered_.load(std::memory_order_relaxed); }
  uint64_t failed() const;
  uint64_t failed_at(FailStage stage) const {
    return failed_[static_cast<size_t>(stage)].load(std::memory_order_relaxed);
  }
  uint64_t bytes() const { return bytes_.load(std::memory_order_relaxed); }
  uint64_t recipients_delivered() const {
    return recipients_delivered_.load(std::memory_order_relaxed);
  }
  uint64_t recipients_refused() const {
    return recipients_refused_.load(std::memory_order_relaxed);
  }
  uint64_t connections() const { return connections_.load(std::memory_order_relaxed); }
  uint64_t connection_errors() const { return connection_errors_.load(std::memory_order_relaxed); }
  uint64_t replies(int code) const;

  void Merge(const SourceStats& other);

  static constexpr int kMinCode = 200;
  static constexpr int kMaxCode = 599;

 private:
  static void Add(std::atomic<uint64_t>* counter, uint64_t n) {
    counter->fetch_add(n, std::memory_order_relaxed);
  }

  std::array<LatencyHistogram, kPhaseCount> phases_;
  std::array<std::atomic<uint64_t>, kMaxCode - kMinCode + 1> replies_{};
  std::array<std::atomic<uint64_t>, kFailStageCount> failed_{};
  std::atomic<uint64_t> delivered_{0};
  std::atomic<uint64_t> bytes_{0};
  std::atomic<uint64_t> recipients_delivered_{0};
  std::atomic<uint64_t> recipients_refused_{0};
  std::atomic<uint64_t> connections_{0};
  std::atomic<uint64_t> connection_errors_{0};
};

// The end-of-run report.
struct SourceSummaryInput {
  std::string target;
  std::string mode;  // "closed loop, 50 connections" / "open loop at 2000 msgs/s"
  std::string sizes;
  double seconds = 0;
  uint64_t planned = 0;  // messages asked for (0: bounded by duration)
};
std::string FormatSummaryText(const SourceSummaryInput& input, const SourceStats& stats);
std::string FormatSummaryJson(const SourceSummaryInput& input, const SourceStats& stats);

}  // namespace tern::tools::tern_bench
