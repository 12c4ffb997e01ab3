// FakeSink: an in-memory MessageSink for tests, the fuzzer and the benchmark. It records
// every begun and committed message; commits complete when the test says so
// (CompleteNext / CompleteAll), never inside CommitMessage, as the interface requires.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "net/smtp/message_sink.h"

namespace tern::net::smtp::testing {

class FakeSink : public MessageSink {
 public:
  struct Committed {
    uint64_t queue_id;
    std::string record;
    CommitWaiter* waiter;
  };

  // What CheckAcceptingMail() and BeginMessage() return.
  absl::Status accepting = absl::OkStatus();
  absl::Status begin_status = absl::OkStatus();
  // False: committed records are not kept (benchmarks, fuzzing).
  bool keep_records = true;

  absl::Status CheckAcceptingMail() override { return accepting; }

  absl::StatusOr<uint64_t> BeginMessage(const EnvelopeView& envelope,
                                        core::ByteBuffer* record) override {
    if (!begin_status.ok()) return begin_status;
    if (!record->empty()) return absl::InternalError("record not empty");
    ++begun;
    reserved_at_begin = record->capacity();
    // A readable stand-in for the spool's record header: one line. The RFC 3461 values
    // only when given: " ret=2 envid=x" after the size, "{notify=6 orcpt=rfc822;a@b}" after
    // a recipient.
    std::string header = absl::StrCat(
        "ENVELOPE helo=", envelope.helo, " client=", envelope.client_address, " from=<",
        envelope.sender, "> to=", absl::StrJoin(envelope.recipients, ",", FormatRecipient),
        " body=", static_cast<int>(envelope.body_type), " utf8=", envelope.smtputf8 ? 1 : 0,
        " size=", envelope.declared_size);
    if (envelope.dsn_ret != 0 || !envelope.envid.empty()) {
      absl::StrAppend(&header, " ret=", envelope.dsn_ret, " envid=", envelope.envid);
    }
    header += "\n";
    record->Append(header);
    return next_queue_id++;
  }

  void CommitMessage(uint64_t queue_id, core::ByteBuffer record, CommitWaiter* waiter) override {
    pending.push_back(
        Committed{queue_id, keep_records ? std::string(record.view()) : std::string(), waiter});
  }

  // Completes the oldest pending commit with `status`; returns its record.
  Committed CompleteNext(absl::Status status = absl::OkStatus()) {
    Committed c = std::move(pending.front());
    pending.erase(pending.begin());
    c.waiter->OnCommitted(status);
    if (status.ok()) committed.push_back(c);
    return c;
  }
  void CompleteAll() {
    while (!pending.empty()) CompleteNext();
  }

  static void FormatRecipient(std::string* out, const EnvelopeRecipient& r) {
    absl::StrAppend(out, r.address);
    if (r.notify != 0 || !r.orcpt.empty()) {
      absl::StrAppend(out, "{notify=", r.notify, " orcpt=", r.orcpt, "}");
    }
  }

  uint64_t next_queue_id = 0xABC000;
  int begun = 0;
  size_t reserved_at_begin = 0;  // the record's capacity at the last BeginMessage
  std::vector<Committed> pending;
  std::vector<Committed> committed;
};

}  // namespace tern::net::smtp::testing
