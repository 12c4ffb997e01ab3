// Implementation of net/smtp/smtp_counters.h.
#include "net/smtp/smtp_counters.h"

namespace tern::net::smtp {

void SmtpCounters::CountReply(int code) {
  if (code < kReplyCodeMin || code > kReplyCodeMax) return;
  Add(rejects_by_code[CodeIndex(code)], 1);
}

}  // namespace tern::net::smtp
