// libFuzzer entry point for SmtpSession: arbitrary client bytes, split into pieces by the
// input itself, must never crash, hang or break an invariant (CHECK), and a completed
// commit must always fill its reply slot.
//
// Not part of the CMake build. To build and run with clang:
//   clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -I. \
//     tests/fuzz/smtp_session_fuzz.cc net/smtp/*.cc core/log.cc \
//     $(pkg-config --cflags --libs absl_status absl_statusor absl_strings absl_str_format \
//       absl_time absl_flat_hash_set) -o smtp_session_fuzz
//   ./smtp_session_fuzz -max_len=4096 corpus/
#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"
#include "net/smtp/session.h"

namespace {

using tern::smtp::CommitWaiter;
using tern::smtp::EnvelopeView;
using tern::smtp::MessageSink;

class FuzzSink : public MessageSink {
 public:
  absl::Status CheckAcceptingMail() override { return absl::OkStatus(); }
  absl::StatusOr<uint64_t> BeginMessage(const EnvelopeView& envelope,
                                        tern::core::ByteBuffer* record) override {
    record->Append(envelope.sender);
    return next_id_++;
  }
  void CommitMessage(uint64_t queue_id, tern::core::ByteBuffer record,
                     CommitWaiter* waiter) override {
    waiters_.push_back(waiter);
  }
  // Alternates success and failure so both reply paths are exercised.
  void CompleteAll() {
    for (CommitWaiter* waiter : waiters_) {
      waiter->OnCommitted((next_id_ & 1) ? absl::OkStatus() : absl::DataLossError("fuzz"));
    }
    waiters_.clear();
  }

 private:
  uint64_t next_id_ = 1;
  std::vector<CommitWaiter*> waiters_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const tern::smtp::RelayPolicy* policy =
      new tern::smtp::RelayPolicy(*tern::smtp::RelayPolicy::FromFlags("", "example.com"));
  tern::smtp::SessionConfig config;
  config.hostname = "fuzz.test";
  config.max_message_size = 4096;
  config.max_recipients = 8;
  config.relay_policy = policy;
  tern::smtp::ClientInfo client{"192.0.2.1", 1, false};
  client.starttls_offered = true;
  FuzzSink sink;
  tern::smtp::SmtpCounters counters;
  tern::smtp::SmtpSession session(config, client, &sink, &counters);
  session.Start();
  // The first byte chooses the piece size, so the fuzzer explores splits too.
  const size_t piece = size == 0 ? 1 : (data[0] % 64) + 1;
  absl::string_view input(reinterpret_cast<const char*>(data), size);
  while (!input.empty()) {
    const size_t n = piece < input.size() ? piece : input.size();
    session.Consume(input.substr(0, n));
    input.remove_prefix(n);
    if (n % 3 == 0) sink.CompleteAll();
    session.output().Consume(session.output().Sendable().size() / 2);
    // The connection starts TLS once the 220 to STARTTLS is sent (here: at once).
    if (session.wants_tls() && session.output().empty()) session.OnTlsStarted();
  }
  sink.CompleteAll();
  if (session.pending_commits() != 0) __builtin_trap();
  if (session.output().pending_slots() != 0) __builtin_trap();
  return 0;
}
