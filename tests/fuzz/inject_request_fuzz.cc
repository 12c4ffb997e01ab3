// libFuzzer entry point for the HTTP injection request (inject/injection_plan.h): arbitrary
// bytes as a request body. Prepare() must never crash and, when it accepts the body, the
// first recipient's message must keep the line rules (CRLF only, no NUL, no line over 998
// octets), end with CRLF, and stay within the message size limit.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "inject/injection_plan.h"
#include "inject/message_lines.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view body(reinterpret_cast<const char*>(data), size);
  tern::inject::PlanOptions options;
  options.limits.message_bytes_max = 1 << 20;  // keeps each run quick
  absl::StatusOr<tern::inject::InjectionPlan> plan =
      tern::inject::InjectionPlan::Prepare(body, options);
  if (!plan.ok()) return 0;
  if (plan->recipient_count() == 0) __builtin_trap();
  absl::StatusOr<std::string> message = plan->BuildMessageFor(0, absl::UnixEpoch());
  if (!message.ok()) {
    // Only the documented refusals: raw content's rules, or a size bound.
    if (message.status().code() != absl::StatusCode::kInvalidArgument &&
        message.status().code() != absl::StatusCode::kResourceExhausted) {
      __builtin_trap();
    }
    if (message.status().code() == absl::StatusCode::kInvalidArgument &&
        !plan->request().raw_content.has_value()) {
      __builtin_trap();
    }
    return 0;
  }
  if (!tern::inject::CheckMessageLines(*message).ok()) __builtin_trap();
  if (!absl::EndsWith(*message, "\r\n")) __builtin_trap();
  if (message->size() > options.limits.message_bytes_max) __builtin_trap();
  return 0;
}
