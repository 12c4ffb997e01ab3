// ServerCapabilities: what an SMTP server offered in its EHLO reply (RFC 5321 §4.1.1.1),
// as the outbound client needs it. Keywords are case-insensitive; unknown ones are ignored.
//
//   ServerCapabilities caps = ParseEhloReply(reply);   // reply: the 250 to EHLO
//   if (caps.pipelining) SendBatch(); else SendOneByOne();
//   if (caps.size_max != 0 && message_size > caps.size_max) RefuseLocally();
//
// After a HELO fallback the server offers nothing: a default ServerCapabilities.
//
// A connection parked for another shard (net/destination_pool.h) carries its capabilities
// as text, so that the session resuming it need not greet the server again:
//
//   parked.capabilities = session.capabilities().Serialize();
//   ASSIGN_OR_RETURN(ServerCapabilities caps, ServerCapabilities::Parse(parked.capabilities));
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "net/smtp/client_reply_parser.h"

namespace tern::net::smtp {

// A new field needs its bit in Serialize() and Parse() (client_capabilities.cc).
struct ServerCapabilities {
  // Serialized form, version 1: "1 FLAGS SIZE_MAX", FLAGS in lowercase hex (one bit per
  // bool, in the order below), SIZE_MAX in decimal, e.g. "1 1bf 35882577". Never longer than
  // kSerializedBytesMax.
  static constexpr size_t kSerializedBytesMax = 32;

  std::string Serialize() const;
  // Reads what Serialize() wrote. InvalidArgument for anything else: another version, an
  // unknown flag bit, a malformed or overlong field, more than kSerializedBytesMax bytes.
  static absl::StatusOr<ServerCapabilities> Parse(absl::string_view text);

  bool operator==(const ServerCapabilities& other) const = default;

  bool esmtp = false;                  // EHLO was accepted (not HELO)
  bool pipelining = false;             // RFC 2920
  bool size = false;                   // RFC 1870 SIZE offered, with or without a limit
  uint64_t size_max = 0;               // RFC 1870 §4: the fixed limit in bytes; 0 = none declared
  bool eight_bit_mime = false;         // RFC 6152
  bool smtputf8 = false;               // RFC 6531
  bool chunking = false;               // RFC 3030: the client sends BDAT, not DATA
  bool starttls = false;               // RFC 3207 (recorded; TLS is the owner's)
  bool enhanced_status_codes = false;  // RFC 2034
  bool dsn = false;                    // RFC 3461
};

// Reads the keywords of a 2xx EHLO reply: every line but the first (the greeting).
// A SIZE parameter that is missing, not a number or too large means no declared limit.
ServerCapabilities ParseEhloReply(const ServerReply& reply);

}  // namespace tern::net::smtp
