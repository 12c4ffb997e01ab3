// The RFC 3461 (DSN) parameters of MAIL FROM and RCPT TO, as the server checks them:
// RET= and ENVID= on MAIL, NOTIFY= and ORCPT= on RCPT. Each function takes the value after
// '=' (a view into the command line) and copies nothing. ENVID and ORCPT are only checked:
// the session keeps them as received, still xtext-encoded, which is the form the client side
// sends on verbatim (net/smtp/client_commands.h) and the spool stores.
//
//   uint8_t ret = ParseDsnRet(value);        // kDsnRetNone: not FULL or HDRS -> 501 5.5.4
//   uint8_t notify = 0;
//   switch (ParseDsnNotify(value, &notify)) { case DsnValueError::kNone: ... }
//   if (CheckDsnEnvid(value) != DsnValueError::kNone) ...
//
// xtext (RFC 3461 §4): printable ASCII but '+' and '=', any octet as "+XX" (two upper-case
// hex digits). RFC 3461 §4.2 and §4.4 also want the decoded ENVID and ORCPT address to be
// printable US-ASCII (graphic or space): "+0D+0A" is refused, so nothing decoded from them
// later can break a header line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "absl/strings/string_view.h"
#include "net/smtp/client_commands.h"  // DsnRet, DsnNotify, kEnvidBytesMax, kOrcptBytesMax

namespace tern::net::smtp {

enum class DsnValueError : uint8_t {
  kNone,
  kSyntax,         // not of the parameter's grammar (501 5.5.4)
  kTooLong,        // ENVID over kEnvidBytesMax decoded, ORCPT over kOrcptBytesMax (501 5.5.4)
  kNeverCombined,  // NOTIFY=NEVER with another keyword (RFC 3461 §4.1)
};

// RET=FULL or RET=HDRS (any case): kDsnRetFull / kDsnRetHeaders; anything else kDsnRetNone.
uint8_t ParseDsnRet(absl::string_view value);

// NOTIFY= "NEVER", or a comma list of SUCCESS, FAILURE, DELAY (any case; a keyword given
// twice counts once; no empty element). Sets `notify` (DsnNotify bits, never 0) on kNone.
DsnValueError ParseDsnNotify(absl::string_view value, uint8_t* notify);

// ENVID= xtext, not empty, at most kEnvidBytesMax (100) characters once decoded (RFC 3461
// §4.4). Encoded, it is at most 3 times that, and anyway within the command line.
DsnValueError CheckDsnEnvid(absl::string_view value);

// ORCPT= addr-type ";" xtext (RFC 3461 §4.2): addr-type an RFC 5322 atom ("rfc822",
// "utf-8"), the address not empty, the whole value at most kOrcptBytesMax (500) octets as
// received. RFC 6533's utf-8-addr-xtext is plain xtext; its unencoded UTF-8 form
// (utf-8-addr-unitext) is refused.
DsnValueError CheckDsnOrcpt(absl::string_view value);

// The length of `xtext` once decoded; nullopt if it is not xtext or decodes to an octet
// that is not printable US-ASCII. Exposed for tests.
std::optional<size_t> XtextDecodedBytes(absl::string_view xtext);

}  // namespace tern::net::smtp
