// ServerCapabilities: what an SMTP server offered in its EHLO reply (RFC 5321 §4.1.1.1),
// as the outbound client needs it. Keywords are case-insensitive; unknown ones are ignored.
//
//   ServerCapabilities caps = ParseEhloReply(reply);   // reply: the 250 to EHLO
//   if (caps.pipelining) SendBatch(); else SendOneByOne();
//   if (caps.size_max != 0 && message_size > caps.size_max) RefuseLocally();
//
// After a HELO fallback the server offers nothing: a default ServerCapabilities.
#pragma once

#include <cstdint>

#include "net/smtp/client_reply_parser.h"

namespace tern::smtp {

struct ServerCapabilities {
  bool esmtp = false;                  // EHLO was accepted (not HELO)
  bool pipelining = false;             // RFC 2920
  bool size = false;                   // RFC 1870 SIZE offered, with or without a limit
  uint64_t size_max = 0;               // RFC 1870 §4: the fixed limit in bytes; 0 = none declared
  bool eight_bit_mime = false;         // RFC 6152
  bool smtputf8 = false;               // RFC 6531
  bool chunking = false;               // RFC 3030 (recorded; the client sends DATA)
  bool starttls = false;               // RFC 3207 (recorded; TLS is the owner's)
  bool enhanced_status_codes = false;  // RFC 2034
  bool dsn = false;                    // RFC 3461
};

// Reads the keywords of a 2xx EHLO reply: every line but the first (the greeting).
// A SIZE parameter that is missing, not a number or too large means no declared limit.
ServerCapabilities ParseEhloReply(const ServerReply& reply);

}  // namespace tern::smtp
