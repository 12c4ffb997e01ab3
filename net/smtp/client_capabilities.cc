// Implementation of net/smtp/client_capabilities.h: one ehlo-line per reply line,
// "keyword *(SP param)" (RFC 5321 §4.1.1.1).
#include "net/smtp/client_capabilities.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/string_view.h"

namespace tern::smtp {
namespace {

// RFC 1870 §3: size-value is at most 20 digits.
constexpr size_t kSizeDigitsMax = 20;

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

}  // namespace tern::smtp
