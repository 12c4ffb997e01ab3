// Throughput of SmtpSession on pipelined transactions (MAIL, 3 RCPT, DATA, a 4 KiB body,
// "."), fed as one burst or in receive-buffer-sized pieces, with a sink that commits at once;
// and what reserving the record from MAIL's SIZE= saves on bodies of 4 KiB to 1 MiB.
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "net/smtp/session.h"

namespace tern::net::smtp {
namespace {

// Commits as soon as the session lets it (CommitWaiter may not run inside CommitMessage).
class ImmediateSink : public MessageSink {
 public:
  // False: the record grows from the session's reserve alone, as in the spool's sink.
  explicit ImmediateSink(bool reserve = true) : reserve_(reserve) {}
  absl::Status CheckAcceptingMail() override { return absl::OkStatus(); }
  absl::StatusOr<uint64_t> BeginMessage(const EnvelopeView& envelope,
                                        core::ByteBuffer* record) override {
    if (reserve_) record->Reserve(8192);
    record->Append("HDR\n");
    return next_id_++;
  }
  void CommitMessage(uint64_t queue_id, core::ByteBuffer record, CommitWaiter* waiter) override {
    benchmark::DoNotOptimize(record.data());
    waiters_.push_back(waiter);
  }
  void CompleteAll() {
    for (CommitWaiter* waiter : waiters_) waiter->OnCommitted(absl::OkStatus());
    waiters_.clear();
  }

 private:
  const bool reserve_;
  uint64_t next_id_ = 1;
  std::vector<CommitWaiter*> waiters_;
};

// A greeted session (EHLO answered) over an ImmediateSink; Feed() gives it `input` in
// pieces of at most `piece` bytes, completes the commits and drops the replies.
class GreetedSession {
 public:
  explicit GreetedSession(bool sink_reserves) : sink_(sink_reserves) {
    config_.hostname = "mx.bench.test";
    session_.Start();
    session_.Consume("EHLO client.bench.test\r\n");
    session_.output().Consume(session_.output().Sendable().size());
  }
  void Feed(absl::string_view input, size_t piece) {
    while (!input.empty()) {
      const size_t n = std::min(piece, input.size());
      session_.Consume(input.substr(0, n));
      input.remove_prefix(n);
    }
    sink_.CompleteAll();
    session_.output().Consume(session_.output().Sendable().size());
  }
  bool closed() const { return session_.wants_close(); }
  const SmtpCounters& counters() const { return counters_; }

 private:
  SessionConfig config_;
  ClientInfo client_{"127.0.0.1", 25, /*may_relay=*/true};
  ImmediateSink sink_;
  SmtpCounters counters_;
  SmtpSession session_{config_, client_, &sink_, &counters_};
};

std::string Transaction() {
  std::string body;
  body += "From: a@b.test\r\nTo: x@example.com\r\nSubject: benchmark\r\n\r\n";
  while (body.size() < 4096) body += std::string(76, 'x') + "\r\n";
  return absl::StrCat("MAIL FROM:<sender@b.test>\r\n", "RCPT TO:<one@example.com>\r\n",
                      "RCPT TO:<two@example.com>\r\n", "RCPT TO:<three@example.com>\r\n",
                      "DATA\r\n", body, ".\r\n");
}

// state.range(0): bytes per Consume() call (0: the whole burst at once).
void BM_PipelinedBurst(benchmark::State& state) {
  constexpr int kTransactionsPerBurst = 16;
  std::string burst;
  for (int i = 0; i < kTransactionsPerBurst; ++i) burst += Transaction();
  const size_t piece = state.range(0) == 0 ? burst.size() : static_cast<size_t>(state.range(0));

  GreetedSession session(/*sink_reserves=*/true);
  for (auto _ : state) session.Feed(burst, piece);
  if (session.closed()) state.SkipWithError("session closed");
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * burst.size());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * kTransactionsPerBurst);
  state.counters["accepted"] = static_cast<double>(session.counters().messages_accepted.load());
}
BENCHMARK(BM_PipelinedBurst)->Arg(0)->Arg(16384)->Arg(1500);

// state.range(0): body bytes; state.range(1): 1 to declare SIZE= at MAIL. Fed in 16 KiB
// pieces (a receive buffer's worth), one transaction per iteration.
void BM_DeclaredSize(benchmark::State& state) {
  const size_t body_bytes = static_cast<size_t>(state.range(0));
  std::string body = "From: a@b.test\r\nSubject: size\r\n\r\n";
  while (body.size() < body_bytes) body += std::string(76, 'x') + "\r\n";
  const std::string size = state.range(1) != 0 ? absl::StrCat(" SIZE=", body.size()) : "";
  const std::string transaction =
      absl::StrCat("MAIL FROM:<sender@b.test>", size, "\r\nRCPT TO:<one@example.com>\r\n",
                   "DATA\r\n", body, ".\r\n");
  GreetedSession session(/*sink_reserves=*/false);
  for (auto _ : state) session.Feed(transaction, 16384);
  if (session.closed()) state.SkipWithError("session closed");
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * transaction.size());
}
BENCHMARK(BM_DeclaredSize)->ArgsProduct({{4096, 65536, 1 << 20}, {0, 1}});

}  // namespace
}  // namespace tern::net::smtp
