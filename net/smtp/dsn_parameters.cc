// Implementation of net/smtp/dsn_parameters.h.
#include "net/smtp/dsn_parameters.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"

namespace tern::net::smtp {
namespace {

// RFC 3461 §4: hexchar = "+" 2(%x30-39 / %x41-46), upper case only.
bool IsXtextHexDigit(char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); }

int HexValue(char c) { return c <= '9' ? c - '0' : c - 'A' + 10; }

// RFC 5322 §3.2.3 atext, without '=' (RFC 5321 §4.1.2: an esmtp-value has no '=').
bool IsAddrTypeChar(char c) {
  if (absl::ascii_isalnum(c)) return true;
  return absl::string_view("!#$%&'*+-/?^_`{|}~").find(c) != absl::string_view::npos;
}

}  // namespace

std::optional<size_t> XtextDecodedBytes(absl::string_view xtext) {
  size_t decoded = 0;
  for (size_t i = 0; i < xtext.size(); ++i, ++decoded) {
    const char c = xtext[i];
    if (c == '+') {
      if (i + 2 >= xtext.size()) return std::nullopt;  // needs two hex digits
      if (!IsXtextHexDigit(xtext[i + 1]) || !IsXtextHexDigit(xtext[i + 2])) return std::nullopt;
      const int octet = HexValue(xtext[i + 1]) * 16 + HexValue(xtext[i + 2]);
      // RFC 3461 §4.2, §4.4: printable US-ASCII (graphic or space) before encoding.
      if (octet < ' ' || octet > '~') return std::nullopt;
      i += 2;
    } else if (c < '!' || c > '~' || c == '=') {
      return std::nullopt;
    }
  }
  return decoded;
}

uint8_t ParseDsnRet(absl::string_view value) {
  if (absl::EqualsIgnoreCase(value, "FULL")) return kDsnRetFull;
  if (absl::EqualsIgnoreCase(value, "HDRS")) return kDsnRetHeaders;
  return kDsnRetNone;
}

DsnValueError ParseDsnNotify(absl::string_view value, uint8_t* notify) {
  // Checked here: absl::StrSplit yields nothing at all for a null string_view.
  if (value.empty()) return DsnValueError::kSyntax;
  uint8_t bits = 0;
  for (absl::string_view keyword : absl::StrSplit(value, ',')) {
    if (absl::EqualsIgnoreCase(keyword, "NEVER")) {
      bits |= kDsnNotifyNever;
    } else if (absl::EqualsIgnoreCase(keyword, "SUCCESS")) {
      bits |= kDsnNotifySuccess;
    } else if (absl::EqualsIgnoreCase(keyword, "FAILURE")) {
      bits |= kDsnNotifyFailure;
    } else if (absl::EqualsIgnoreCase(keyword, "DELAY")) {
      bits |= kDsnNotifyDelay;
    } else {
      return DsnValueError::kSyntax;  // also an empty element
    }
  }
  // RFC 3461 §4.1: NEVER stands alone.
  if ((bits & kDsnNotifyNever) != 0 && bits != kDsnNotifyNever) {
    return DsnValueError::kNeverCombined;
  }
  *notify = bits;
  return DsnValueError::kNone;
}

DsnValueError CheckDsnEnvid(absl::string_view value) {
  // RFC 5321 §4.1.2: an esmtp-value has at least one character.
  if (value.empty()) return DsnValueError::kSyntax;
  const std::optional<size_t> decoded = XtextDecodedBytes(value);
  if (!decoded.has_value()) return DsnValueError::kSyntax;
  if (*decoded > kEnvidBytesMax) return DsnValueError::kTooLong;
  return DsnValueError::kNone;
}

DsnValueError CheckDsnOrcpt(absl::string_view value) {
  const size_t semicolon = value.find(';');
  if (semicolon == absl::string_view::npos || semicolon == 0) return DsnValueError::kSyntax;
  const absl::string_view addr_type = value.substr(0, semicolon);
  const absl::string_view address = value.substr(semicolon + 1);
  for (char c : addr_type) {
    if (!IsAddrTypeChar(c)) return DsnValueError::kSyntax;
  }
  if (address.empty() || !XtextDecodedBytes(address).has_value()) return DsnValueError::kSyntax;
  if (value.size() > kOrcptBytesMax) return DsnValueError::kTooLong;
  return DsnValueError::kNone;
}

}  // namespace tern::net::smtp
