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

  SessionConfig config;
  config.hostname = "mx.bench.test";
  ClientInfo client{"127.0.0.1", 25, /*may_relay=*/true};
  ImmediateSink sink;
  SmtpCounters counters;
  SmtpSession session(config, client, &sink, &counters);
  session.Start();
  session.Consume("EHLO client.bench.test\r\n");
  session.output().Consume(session.output().Sendable().size());

  for (auto _ : state) {
    absl::string_view rest(burst);
    while (!rest.empty()) {
      const size_t n = std::min(piece, rest.size());
      session.Consume(rest.substr(0, n));
      rest.remove_prefix(n);
    }
    sink.CompleteAll();
    session.output().Consume(session.output().Sendable().size());
  }
  if (session.wants_close()) state.SkipWithError("session closed");
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * burst.size());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * kTransactionsPerBurst);
  state.counters["accepted"] = static_cast<double>(counters.messages_accepted.load());
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
  SessionConfig config;
  config.hostname = "mx.bench.test";
  ClientInfo client{"127.0.0.1", 25, /*may_relay=*/true};
  ImmediateSink sink(/*reserve=*/false);
  SmtpCounters counters;
  SmtpSession session(config, client, &sink, &counters);
  session.Start();
  session.Consume("EHLO client.bench.test\r\n");
  session.output().Consume(session.output().Sendable().size());
  for (auto _ : state) {
    absl::string_view rest(transaction);
    while (!rest.empty()) {
      const size_t n = std::min<size_t>(16384, rest.size());
      session.Consume(rest.substr(0, n));
      rest.remove_prefix(n);
    }
    sink.CompleteAll();
    session.output().Consume(session.output().Sendable().size());
  }
  if (session.wants_close()) state.SkipWithError("session closed");
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * transaction.size());
}
BENCHMARK(BM_DeclaredSize)->ArgsProduct({{4096, 65536, 1 << 20}, {0, 1}});

}  // namespace
}  // namespace tern::net::smtp
