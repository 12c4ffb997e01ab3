// SmtpCounters: the SMTP server's counters of one shard. Written by the shard's thread
// (relaxed atomic adds), read by the metrics thread; no ordering between counters is implied.
//
//   SmtpCounters counters;
//   SmtpSession session(config, client, &sink, &counters);
//   ...
//   uint64_t n = counters.rejects_by_code[SmtpCounters::CodeIndex(554)].load();
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "core/latency_histogram.h"

namespace tern::net::smtp {

struct SmtpCounters {
  // Reply codes counted in rejects_by_code: every 4xx and 5xx reply.
  static constexpr int kReplyCodeMin = 400;
  static constexpr int kReplyCodeMax = 599;
  static constexpr size_t kReplyCodes = kReplyCodeMax - kReplyCodeMin + 1;

  std::atomic<uint64_t> commands{0};           // command lines received
  std::atomic<uint64_t> messages_accepted{0};  // messages answered 250 after their commit
  std::atomic<uint64_t> bytes_accepted{0};     // body bytes of those messages
  std::atomic<uint64_t> messages_rejected{0};  // messages whose data was refused or not stored
  std::array<std::atomic<uint64_t>, kReplyCodes> rejects_by_code{};
  // Recipients the RecipientScreen refused (the suppression list).
  std::atomic<uint64_t> recipients_screened_out{0};
  std::atomic<uint64_t> tls_handshakes{0};          // completed (implicit TLS or STARTTLS)
  std::atomic<uint64_t> tls_handshake_failures{0};  // failed, or the client left mid-way
  // From the end of a message's data to its 250 (its group commit and the wait for it).
  core::LatencyHistogram accept_latency;

  // Index of `code` in rejects_by_code; code must be in [kReplyCodeMin, kReplyCodeMax].
  static constexpr size_t CodeIndex(int code) { return static_cast<size_t>(code - kReplyCodeMin); }

  // Counts one reply with this code if it is a 4xx or 5xx; other codes are ignored.
  void CountReply(int code);

  static void Add(std::atomic<uint64_t>& counter, uint64_t n) {
    counter.fetch_add(n, std::memory_order_relaxed);
  }
};

}  // namespace tern::net::smtp
