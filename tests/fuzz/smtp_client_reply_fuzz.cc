// libFuzzer entry point for the outbound client's reply handling: arbitrary server bytes,
// split into pieces chosen by the input itself, go through ReplyParser (which must give
// the same replies for every split and never exceed its bounds) and through a
// SmtpClientSession that delivers a few messages (the next one pipelined behind the end of
// data whenever the session offers it, up to a depth of 2 to 5 chosen by the input's first
// byte, never more in flight), which must never crash, report a recipient twice,
// call a recipient delivered without a 2xx to the final dot, or lose a transaction: each
// one started is reported exactly once.
//
// Built and run by tools/fuzz.sh (CMake with -DTERN_FUZZ=ON and clang).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "net/smtp/client_reply_parser.h"
#include "net/smtp/client_session.h"

namespace {

using tern::net::smtp::ReplyParser;
using tern::net::smtp::ReplyParseResult;

// Every reply (code and text) in `input` fed in pieces of `piece` bytes, then "E" on error.
std::string ParseInPieces(absl::string_view input, size_t piece) {
  ReplyParser parser;
  std::string out;
  while (!input.empty()) {
    absl::string_view chunk = input.substr(0, piece);
    input.remove_prefix(chunk.size());
    while (!chunk.empty()) {
      size_t used = 0;
      const ReplyParseResult r = parser.Parse(chunk, &used);
      if (used > chunk.size()) __builtin_trap();
      chunk.remove_prefix(used);
      if (r == ReplyParseResult::kNeedMore) {
        if (!chunk.empty()) __builtin_trap();
        break;
      }
      if (r == ReplyParseResult::kError) return out + "E";
      const tern::net::smtp::ServerReply& reply = parser.reply();
      if (reply.code() < 200 || reply.code() > 599) __builtin_trap();
      if (reply.line_count() == 0 || reply.line_count() > tern::net::smtp::kReplyLinesMax) {
        __builtin_trap();
      }
      absl::StrAppend(&out, reply.code(), reply.enhanced().ToString(), "|");
      for (size_t i = 0; i < reply.line_count(); ++i) {
        if (reply.line(i).size() > tern::net::smtp::kReplyLineBytesMax) __builtin_trap();
        absl::StrAppend(&out, reply.line(i), "|");
      }
    }
  }
  return out;
}

class FuzzHandler : public tern::net::smtp::ClientSessionHandler {
 public:
  FuzzHandler(tern::net::smtp::SmtpClientSession** session, size_t depth)
      : session_(session), depth_(depth) {}
  void OnReady() override {
    if (started_ >= kMessages) {
      (void)(*session_)->Quit();
      return;
    }
    Start();
  }
  void OnCanPipeline() override {
    if (!(*session_)->can_pipeline()) __builtin_trap();
    if (started_ < kMessages) Start();
  }
  void Start() {
    ++started_;
    tern::net::smtp::OutboundMessage message;
    message.sender = "s@src.test";
    message.recipients = recipients_;
    message.body = body_;
    message.needs_smtputf8 = started_ == 2;
    if (!(*session_)->StartTransaction(message).ok()) __builtin_trap();
    if ((*session_)->transactions_in_flight() > depth_) __builtin_trap();
  }
  void OnTransactionDone(const tern::net::smtp::TransactionResult& result) override {
    if (++done_ > started_) __builtin_trap();
    if (result.recipients.size() != 2) __builtin_trap();
    for (const tern::net::smtp::RecipientResult& r : result.recipients) {
      const bool delivered = r.outcome == tern::net::smtp::DeliveryOutcome::kDelivered;
      if (delivered && (r.code / 100 != 2 || r.stage != tern::net::smtp::ReplyStage::kDataEnd)) {
        __builtin_trap();
      }
      if ((result.connection_failed || result.retry_at_once) && delivered) __builtin_trap();
    }
  }
  // Every transaction started was reported once.
  void CheckAllReported() const {
    if (done_ != started_) __builtin_trap();
  }
  void OnConnectionFailed(const absl::Status&, const tern::net::smtp::ServerReply*) override {
    if (++failures_ > 1) __builtin_trap();
  }

 private:
  static constexpr int kMessages = 6;
  tern::net::smtp::SmtpClientSession** session_;
  const size_t depth_;
  int started_ = 0;
  int done_ = 0;
  int failures_ = 0;
  const std::vector<tern::net::smtp::OutboundRecipient> recipients_ = {{"a@d.test", 0},
                                                                       {"b@d.test", 1}};
  const std::string body_ = "x\r\n..y\r\n";
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const size_t piece = size == 0 ? 1 : (data[0] % 64) + 1;
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  // Splits must not change the replies.
  if (ParseInPieces(input, piece) != ParseInPieces(input, input.size() + 1)) __builtin_trap();

  tern::net::smtp::ClientConfig config;
  config.pipeline_depth = size == 0 ? 2 : 2 + (data[0] >> 6);
  tern::net::smtp::ClientCounters counters;
  tern::net::smtp::SmtpClientSession* session = nullptr;
  FuzzHandler handler(&session, config.pipeline_depth);
  tern::net::smtp::SmtpClientSession owned(config, &handler, &counters);
  session = &owned;
  absl::string_view rest = input;
  while (!rest.empty() && !owned.wants_close()) {
    const absl::string_view chunk = rest.substr(0, piece);
    rest.remove_prefix(chunk.size());
    owned.Consume(chunk);
    owned.output().Consume(owned.output().pending_bytes());
  }
  owned.OnDisconnected();
  handler.CheckAllReported();
  return 0;
}
