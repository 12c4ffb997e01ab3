// Implementation of net/smtp/client_capabilities.h: one ehlo-line per reply line,
// "keyword *(SP param)" (RFC 5321 §4.1.1.1).
#include "net/smtp/client_capabilities.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "core/check.h"

namespace tern::net::smtp {
namespace {

// RFC 1870 §3: size-value is at most 20 digits.
constexpr size_t kSizeDigitsMax = 20;

// The serialized form (client_capabilities.h): its version and one bit per flag.
constexpr absl::string_view kSerializedVersion = "1";
constexpr size_t kFlagDigitsMax = 3;
constexpr bool ServerCapabilities::*kFlags[] = {
    &ServerCapabilities::esmtp,    &ServerCapabilities::pipelining,
    &ServerCapabilities::size,     &ServerCapabilities::eight_bit_mime,
    &ServerCapabilities::smtputf8, &ServerCapabilities::chunking,
    &ServerCapabilities::starttls, &ServerCapabilities::enhanced_status_codes,
    &ServerCapabilities::dsn,
};
constexpr size_t kFlagCount = sizeof(kFlags) / sizeof(kFlags[0]);
static_assert(kFlagCount <= 4 * kFlagDigitsMax);
static_assert(kSerializedVersion.size() + 1 + kFlagDigitsMax + 1 + kSizeDigitsMax <=
              ServerCapabilities::kSerializedBytesMax);

bool AllDigits(absl::string_view text, bool (*is_digit)(unsigned char)) {
  for (char c : text) {
    if (!is_digit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool IsLowerHexDigit(unsigned char c) { return absl::ascii_isdigit(c) || (c >= 'a' && c <= 'f'); }
bool IsDecimalDigit(unsigned char c) { return absl::ascii_isdigit(c); }

// Canonical numbers only ("0", "12", not "012"), so that every value has one form.
bool Canonical(absl::string_view digits, size_t digits_max, bool (*is_digit)(unsigned char)) {
  if (digits.empty() || digits.size() > digits_max) return false;
  if (digits.size() > 1 && digits[0] == '0') return false;
  return AllDigits(digits, is_digit);
}

uint64_t ParseSizeLimit(absl::string_view param) {
  param = absl::StripAsciiWhitespace(param);
  if (param.empty() || param.size() > kSizeDigitsMax) return 0;
  for (char c : param) {
    if (!absl::ascii_isdigit(c)) return 0;
  }
  uint64_t value = 0;
  if (!absl::SimpleAtoi(param, &value)) return 0;  // overflow: treat as no limit
  return value;
}

}  // namespace

std::string ServerCapabilities::Serialize() const {
  uint32_t flags = 0;
  for (size_t i = 0; i < kFlagCount; ++i) {
    if (this->*kFlags[i]) flags |= 1u << i;
  }
  std::string text = absl::StrCat(kSerializedVersion, " ", absl::Hex(flags), " ", size_max);
  CHECK_LE(text.size(), kSerializedBytesMax);
  return text;
}

absl::StatusOr<ServerCapabilities> ServerCapabilities::Parse(absl::string_view text) {
  auto invalid = [text](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("serialized SMTP capabilities \"",
                     absl::CHexEscape(text.substr(0, kSerializedBytesMax)), "\": ", why));
  };
  if (text.size() > kSerializedBytesMax) return invalid("too long");
  const std::vector<absl::string_view> fields = absl::StrSplit(text, ' ');
  if (fields.size() != 3) return invalid("not three fields");
  if (fields[0] != kSerializedVersion) return invalid("unknown version");
  if (!Canonical(fields[1], kFlagDigitsMax, IsLowerHexDigit)) return invalid("bad flags");
  if (!Canonical(fields[2], kSizeDigitsMax, IsDecimalDigit)) return invalid("bad size limit");
  uint32_t flags = 0;
  if (!absl::SimpleHexAtoi(fields[1], &flags) || flags >> kFlagCount != 0) {
    return invalid("unknown flags");
  }
  ServerCapabilities caps;
  if (!absl::SimpleAtoi(fields[2], &caps.size_max)) return invalid("size limit too large");
  for (size_t i = 0; i < kFlagCount; ++i) caps.*kFlags[i] = (flags >> i & 1) != 0;
  return caps;
}

ServerCapabilities ParseEhloReply(const ServerReply& reply) {
  ServerCapabilities caps;
  caps.esmtp = true;
  for (size_t i = 1; i < reply.line_count(); ++i) {
    const absl::string_view line = absl::StripAsciiWhitespace(reply.line(i));
    const size_t space = line.find(' ');
    const absl::string_view keyword = line.substr(0, space);
    const absl::string_view param =
        space == absl::string_view::npos ? absl::string_view() : line.substr(space + 1);
    if (absl::EqualsIgnoreCase(keyword, "PIPELINING")) {
      caps.pipelining = true;
    } else if (absl::EqualsIgnoreCase(keyword, "SIZE")) {
      caps.size = true;
      caps.size_max = ParseSizeLimit(param);
    } else if (absl::EqualsIgnoreCase(keyword, "8BITMIME")) {
      caps.eight_bit_mime = true;
    } else if (absl::EqualsIgnoreCase(keyword, "SMTPUTF8")) {
      caps.smtputf8 = true;
    } else if (absl::EqualsIgnoreCase(keyword, "CHUNKING")) {
      caps.chunking = true;
    } else if (absl::EqualsIgnoreCase(keyword, "STARTTLS")) {
      caps.starttls = true;
    } else if (absl::EqualsIgnoreCase(keyword, "ENHANCEDSTATUSCODES")) {
      caps.enhanced_status_codes = true;
    } else if (absl::EqualsIgnoreCase(keyword, "DSN")) {
      caps.dsn = true;
    }
  }
  return caps;
}

}  // namespace tern::net::smtp
