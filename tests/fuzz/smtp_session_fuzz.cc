// libFuzzer entry point for SmtpSession: arbitrary client bytes, split into pieces by the
// input itself, must never crash, hang or break an invariant (CHECK), and a completed
// commit must always fill its reply slot.
//
// The first byte also chooses implicit TLS (0x80) and AUTH (0x40); password checks are
// answered between pieces, accepted or not by the input.
//
// Built and run by tools/fuzz.sh (CMake with -DTERN_FUZZ=ON and clang).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/strings/string_view.h"
#include "net/smtp/auth_backend.h"
#include "net/smtp/session.h"

namespace {

using tern::net::smtp::CommitWaiter;
using tern::net::smtp::EnvelopeView;
using tern::net::smtp::MessageSink;

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

// Answers password checks when the harness says so (never inside Check()).
class FuzzAuth : public tern::net::smtp::AuthBackend {
 public:
  void Check(absl::string_view, std::string user, std::string,
             absl::AnyInvocable<void(Result)> done) override {
    pending_.push_back(std::move(done));
  }
  bool OwnsSender(absl::string_view user, absl::string_view sender) const override {
    return sender.size() % 2 == user.size() % 2;
  }
  void AnswerAll(uint8_t how) {
    std::vector<absl::AnyInvocable<void(Result)>> pending = std::move(pending_);
    pending_.clear();
    for (auto& done : pending) done(static_cast<Result>(how % 4));
  }

 private:
  std::vector<absl::AnyInvocable<void(Result)>> pending_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const tern::net::smtp::RelayPolicy* policy =
      new tern::net::smtp::RelayPolicy(*tern::net::smtp::RelayPolicy::FromFlags("", "example.com"));
  tern::net::smtp::SessionConfig config;
  config.hostname = "fuzz.test";
  config.max_message_size = 4096;
  config.max_recipients = 8;
  config.relay_policy = policy;
  FuzzAuth auth;
  config.auth = &auth;
  config.sender_login_match = true;
  tern::net::smtp::ClientInfo client{"192.0.2.1", 1, false};
  const uint8_t mode = size == 0 ? 0 : data[0];
  client.tls = (mode & 0x80) != 0;
  client.starttls_offered = !client.tls;
  client.auth_offered = (mode & 0x40) != 0;
  client.auth_required = client.auth_offered;
  FuzzSink sink;
  tern::net::smtp::SmtpCounters counters;
  tern::net::smtp::SmtpSession session(config, client, &sink, &counters);
  session.Start();
  // The first byte chooses the piece size, so the fuzzer explores splits too.
  const size_t piece = size == 0 ? 1 : (data[0] % 64) + 1;
  absl::string_view input(reinterpret_cast<const char*>(data), size);
  while (!input.empty()) {
    const size_t n = piece < input.size() ? piece : input.size();
    session.Consume(input.substr(0, n));
    input.remove_prefix(n);
    if (n % 3 == 0) sink.CompleteAll();
    if (n % 2 == 0) auth.AnswerAll(static_cast<uint8_t>(input.empty() ? 0 : input[0]));
    session.output().Consume(session.output().Sendable().size() / 2);
    // The connection starts TLS once the 220 to STARTTLS is sent (here: at once).
    if (session.wants_tls() && session.output().empty()) session.OnTlsStarted();
  }
  auth.AnswerAll(1);
  sink.CompleteAll();
  auth.AnswerAll(0);
  sink.CompleteAll();
  if (session.auth_pending()) __builtin_trap();
  if (session.pending_commits() != 0) __builtin_trap();
  if (session.output().pending_slots() != 0) __builtin_trap();
  return 0;
}
