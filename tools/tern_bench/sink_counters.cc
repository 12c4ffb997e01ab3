// SinkCounters snapshots and SinkTotals sums (sink_counters.h).
#include "tools/tern_bench/sink_counters.h"

namespace tern::tools::tern_bench {

static_assert(kFaultKindDelay == kFaultActionCount - 1, "delays follow the random kinds");

const char* FaultKindName(size_t kind) {
  static constexpr const char* kNames[kFaultKindCount] = {"tempfail", "permfail", "disconnect",
                                                          "delay"};
  return kind < kFaultKindCount ? kNames[kind] : "?";
}

void SinkTotals::Add(const SinkTotals& other) {
  messages_accepted += other.messages_accepted;
  recipients_accepted += other.recipients_accepted;
  bytes_accepted += other.bytes_accepted;
  messages_received += other.messages_received;
  verified += other.verified;
  unverified += other.unverified;
  checksum_mismatches += other.checksum_mismatches;
  connections_accepted += other.connections_accepted;
  connections_open += other.connections_open;
  record_lines_dropped += other.record_lines_dropped;
  for (size_t i = 0; i < kReplyCodeSlots; ++i) replies[i] += other.replies[i];
  for (size_t k = 0; k < kFaultKindCount; ++k) {
    for (size_t s = 0; s < kFaultStageCount; ++s) faults[k][s] += other.faults[k][s];
  }
}

SinkTotals SinkCounters::Snapshot() const {
  constexpr auto kRelaxed = std::memory_order_relaxed;
  SinkTotals t;
  t.messages_accepted = messages_accepted.load(kRelaxed);
  t.recipients_accepted = recipients_accepted.load(kRelaxed);
  t.bytes_accepted = bytes_accepted.load(kRelaxed);
  t.messages_received = messages_received.load(kRelaxed);
  t.verified = verified.load(kRelaxed);
  t.unverified = unverified.load(kRelaxed);
  t.checksum_mismatches = checksum_mismatches.load(kRelaxed);
  t.connections_accepted = connections_accepted.load(kRelaxed);
  const int64_t open = connections_open.load(kRelaxed);
  t.connections_open = open > 0 ? static_cast<uint64_t>(open) : 0;
  t.record_lines_dropped = record_lines_dropped.load(kRelaxed);
  for (size_t i = 0; i < kReplyCodeSlots; ++i) t.replies[i] = replies[i].load(kRelaxed);
  for (size_t k = 0; k < kFaultKindCount; ++k) {
    for (size_t s = 0; s < kFaultStageCount; ++s) t.faults[k][s] = faults[k][s].load(kRelaxed);
  }
  return t;
}

}  // namespace tern::tools::tern_bench
