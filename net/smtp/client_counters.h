// ClientCounters: the outbound SMTP client's counters of one shard. Written by the shard's
// thread (relaxed atomic adds), read by the metrics thread; no ordering is implied.
//
//   ClientCounters counters;
//   SmtpClientSession session(config, &handler, &counters);
//   uint64_t delivered = counters.recipients_delivered.load();
#pragma once

#include <atomic>
#include <cstdint>

namespace tern::net::smtp {

struct ClientCounters {
  std::atomic<uint64_t> connections_ready{0};    // greeting and EHLO/HELO done
  std::atomic<uint64_t> connections_resumed{0};  // parked connections taken up (Resume())
  std::atomic<uint64_t> connections_failed{0};   // OnConnectionFailed calls
  std::atomic<uint64_t> replies_malformed{0};    // hostile or broken replies
  std::atomic<uint64_t> timeouts{0};             // OnTimeout while waiting
  std::atomic<uint64_t> transactions{0};         // OnTransactionDone calls
  std::atomic<uint64_t> messages_sent{0};        // bodies sent after 354 or with BDAT
  std::atomic<uint64_t> body_bytes_sent{0};      // their stored (dot-stuffed) bytes
  std::atomic<uint64_t> recipients_delivered{0};
  std::atomic<uint64_t> recipients_temp_failed{0};
  std::atomic<uint64_t> recipients_perm_failed{0};
  std::atomic<uint64_t> tls_handshakes{0};          // STARTTLS completed (the owner counts)
  std::atomic<uint64_t> tls_handshake_failures{0};  // STARTTLS 220, then the handshake failed
  std::atomic<uint64_t> starttls_refused{0};        // opportunistic, refused: plaintext
  // Transactions pipelined behind the previous one's end of data, and those of them whose
  // MAIL the server refused for it (sent again).
  std::atomic<uint64_t> transactions_pipelined{0};
  std::atomic<uint64_t> pipelining_refused{0};

  static void Add(std::atomic<uint64_t>& counter, uint64_t n) {
    counter.fetch_add(n, std::memory_order_relaxed);
  }
};

}  // namespace tern::net::smtp
