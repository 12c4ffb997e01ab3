// The outbound client's command lines: MAIL FROM and RCPT TO with their paths written the
// way RFC 5321 §4.1.2 wants them (a local part that is not a dot-string is quoted again).
// The stored envelope holds dequoted addresses; this puts the quotes back.
//
//   std::string out;
//   MailParameters params{.size = 1234, .eight_bit_mime = true};
//   if (!AppendMailFrom(sender, params, &out)) return InvalidArgument(...);
//   if (!AppendRcptTo(recipient, &out)) ...
//   // out == "MAIL FROM:<a@b> SIZE=1234 BODY=8BITMIME\r\nRCPT TO:<c@d>\r\n"
//
// An address with a control character (CR and LF above all: command injection) or longer
// than kPathBytesMax is refused: false, `out` unchanged.
#pragma once

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace tern::net::smtp {

// RFC 3461 DSN parameters are sent as stored (xtext); one that is not valid xtext or is
// over its RFC 3461 length limit is left out rather than failing the delivery.
inline constexpr size_t kEnvidBytesMax = 100;  // RFC 3461 §4.4
inline constexpr size_t kOrcptBytesMax = 500;  // RFC 3461 §4.2

// RFC 3461 RET values and NOTIFY bits (the same values as the spool's envelope).
enum DsnRet : uint8_t { kDsnRetNone = 0, kDsnRetFull = 1, kDsnRetHeaders = 2 };
enum DsnNotify : uint8_t {
  kDsnNotifyNever = 1,
  kDsnNotifySuccess = 2,
  kDsnNotifyFailure = 4,
  kDsnNotifyDelay = 8,
};

struct MailParameters {
  uint64_t size = 0;              // RFC 1870 SIZE=; 0: not sent
  bool eight_bit_mime = false;    // RFC 6152 BODY=8BITMIME
  bool smtputf8 = false;          // RFC 6531 SMTPUTF8
  uint8_t dsn_ret = kDsnRetNone;  // RFC 3461 RET=
  absl::string_view envid;        // RFC 3461 ENVID= (xtext); empty: not sent
};

struct RcptParameters {
  uint8_t notify = 0;       // DsnNotify bits; 0: not sent
  absl::string_view orcpt;  // RFC 3461 ORCPT= "addr-type;xtext"; empty: not sent
};

// Appends "<address>" ("<>" for an empty address), quoting the local part when needed.
bool AppendPath(absl::string_view address, std::string* out);
// Appends "MAIL FROM:<sender>[ SIZE=n][ BODY=8BITMIME][ SMTPUTF8][ RET=..][ ENVID=..]\r\n".
bool AppendMailFrom(absl::string_view sender, const MailParameters& params, std::string* out);
// Appends "RCPT TO:<recipient>[ NOTIFY=..][ ORCPT=..]\r\n".
bool AppendRcptTo(absl::string_view recipient, const RcptParameters& params, std::string* out);

}  // namespace tern::net::smtp
