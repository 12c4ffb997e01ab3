// SinkCounters: what one sink thread counted (messages, verification, replies by code,
// injected faults, connections). The owner thread is the only writer; the reporter thread
// reads them once a second for the progress line, so every field is a relaxed atomic that
// the owner bumps with a plain load + store (no locked instruction on the hot path).
// SinkTotals is a plain copy, summed over threads for the summary.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "tools/tern_bench/sink_faults.h"

namespace tern::tools::tern_bench {

// Reply codes counted individually: 200..599.
inline constexpr int kReplyCodeMin = 200;
inline constexpr int kReplyCodeMax = 599;
inline constexpr size_t kReplyCodeSlots = kReplyCodeMax - kReplyCodeMin + 1;

// Kinds of injected fault in the counters: the FaultActions but kNone, then delays.
inline constexpr size_t kFaultKindCount = 4;
inline constexpr size_t kFaultKindDelay = 3;
// "tempfail", "permfail", "disconnect", "delay".
const char* FaultKindName(size_t kind);

struct SinkTotals {
  uint64_t messages_accepted = 0;    // answered 250 at end of data
  uint64_t recipients_accepted = 0;  // of those messages
  uint64_t bytes_accepted = 0;       // their unstuffed content
  uint64_t messages_received = 0;    // reached end of data, whatever the reply
  uint64_t verified = 0;             // of messages_received: checksum matched
  uint64_t unverified = 0;           // no checksum header (or no end of headers)
  uint64_t checksum_mismatches = 0;  // a checksum header the body did not match
  uint64_t connections_accepted = 0;
  uint64_t connections_open = 0;
  uint64_t record_lines_dropped = 0;  // the record file did not keep up
  std::array<uint64_t, kReplyCodeSlots> replies{};
  std::array<std::array<uint64_t, kFaultStageCount>, kFaultKindCount> faults{};

  void Add(const SinkTotals& other);
};

class SinkCounters {
 public:
  // Owner thread only.
  static void Bump(std::atomic<uint64_t>& counter, uint64_t n = 1) {
    counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void CountReply(int code) {
    if (code >= kReplyCodeMin && code <= kReplyCodeMax) Bump(replies[code - kReplyCodeMin]);
  }
  void CountFault(FaultAction action, FaultStage stage) {
    if (action != FaultAction::kNone) Bump(faults[static_cast<size_t>(action) - 1][Index(stage)]);
  }
  void CountDelay(FaultStage stage) { Bump(faults[kFaultKindDelay][Index(stage)]); }
  void AddOpen(int64_t delta) {
    connections_open.store(connections_open.load(std::memory_order_relaxed) + delta,
                           std::memory_order_relaxed);
  }

  // Any thread.
  SinkTotals Snapshot() const;

  std::atomic<uint64_t> messages_accepted{0};
  std::atomic<uint64_t> recipients_accepted{0};
  std::atomic<uint64_t> bytes_accepted{0};
  std::atomic<uint64_t> messages_received{0};
  std::atomic<uint64_t> verified{0};
  std::atomic<uint64_t> unverified{0};
  std::atomic<uint64_t> checksum_mismatches{0};
  std::atomic<uint64_t> connections_accepted{0};
  std::atomic<int64_t> connections_open{0};
  std::atomic<uint64_t> record_lines_dropped{0};
  std::array<std::atomic<uint64_t>, kReplyCodeSlots> replies{};
  std::array<std::array<std::atomic<uint64_t>, kFaultStageCount>, kFaultKindCount> faults{};

 private:
  static size_t Index(FaultStage stage) { return static_cast<size_t>(stage); }
};

}  // namespace tern::tools::tern_bench
