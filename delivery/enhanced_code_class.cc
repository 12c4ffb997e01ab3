// Implementation of delivery/enhanced_code_class.h.
#include "delivery/enhanced_code_class.h"

#include <array>
#include <cstddef>
#include <cstdint>

#include "absl/strings/ascii.h"

namespace tern::delivery {
namespace {

using C = BounceClass;

struct Entry {
  uint16_t subject;
  uint16_t detail;
  BounceClass bounce_class;
};

// Every registered subject.detail, with the class Tern gives it. Where the registry's words
// name no class of ours, the choice is written beside it.
constexpr std::array kTable = {
    Entry{0, 0, C::kOther},              // Other undefined status
    Entry{1, 0, C::kBadMailbox},         // Other address status (used for unknown users)
    Entry{1, 1, C::kBadMailbox},         // Bad destination mailbox address
    Entry{1, 2, C::kBadDomain},          // Bad destination system address
    Entry{1, 3, C::kBadMailbox},         // Bad destination mailbox address syntax
    Entry{1, 4, C::kBadMailbox},         // Destination mailbox address ambiguous
    Entry{1, 5, C::kOther},              // Destination address valid
    Entry{1, 6, C::kBadMailbox},         // Destination mailbox has moved, no forwarding address
    Entry{1, 7, C::kPolicyRelated},      // Bad sender's mailbox address syntax: our sender refused
    Entry{1, 8, C::kPolicyRelated},      // Bad sender's system address: our sender refused
    Entry{1, 9, C::kOther},              // Message relayed to non-compliant mailer (RFC 3886)
    Entry{1, 10, C::kBadDomain},         // Recipient address has null MX (RFC 7505)
    Entry{2, 0, C::kBadMailbox},         // Other or undefined mailbox status
    Entry{2, 1, C::kInactiveMailbox},    // Mailbox disabled, not accepting messages
    Entry{2, 2, C::kQuotaIssues},        // Mailbox full
    Entry{2, 3, C::kContentRelated},     // Message length exceeds administrative limit
    Entry{2, 4, C::kOther},              // Mailing list expansion problem
    Entry{3, 0, C::kOther},              // Other or undefined mail system status
    Entry{3, 1, C::kQuotaIssues},        // Mail system full
    Entry{3, 2, C::kNoAnswerFromHost},   // System not accepting network messages
    Entry{3, 3, C::kProtocolErrors},     // System not capable of selected features
    Entry{3, 4, C::kContentRelated},     // Message too big for system
    Entry{3, 5, C::kBadConfiguration},   // System incorrectly configured
    Entry{3, 6, C::kOther},              // Requested priority was changed (RFC 6710)
    Entry{4, 0, C::kRoutingErrors},      // Other or undefined network or routing status
    Entry{4, 1, C::kNoAnswerFromHost},   // No answer from host
    Entry{4, 2, C::kNoAnswerFromHost},   // Bad connection
    Entry{4, 3, C::kRoutingErrors},      // Directory server failure
    Entry{4, 4, C::kRoutingErrors},      // Unable to route
    Entry{4, 5, C::kNoAnswerFromHost},   // Mail system congestion: the host is too busy
    Entry{4, 6, C::kRoutingErrors},      // Routing loop detected
    Entry{4, 7, C::kMessageExpired},     // Delivery time expired
    Entry{5, 0, C::kProtocolErrors},     // Other or undefined protocol status
    Entry{5, 1, C::kProtocolErrors},     // Invalid command
    Entry{5, 2, C::kProtocolErrors},     // Syntax error
    Entry{5, 3, C::kProtocolErrors},     // Too many recipients
    Entry{5, 4, C::kProtocolErrors},     // Invalid command arguments
    Entry{5, 5, C::kProtocolErrors},     // Wrong protocol version
    Entry{5, 6, C::kProtocolErrors},     // Authentication exchange line is too long (RFC 4954)
    Entry{6, 0, C::kContentRelated},     // Other or undefined media error
    Entry{6, 1, C::kContentRelated},     // Media not supported
    Entry{6, 2, C::kContentRelated},     // Conversion required and prohibited
    Entry{6, 3, C::kContentRelated},     // Conversion required but not supported
    Entry{6, 4, C::kContentRelated},     // Conversion with loss performed
    Entry{6, 5, C::kContentRelated},     // Conversion failed
    Entry{6, 6, C::kContentRelated},     // Message content not available (RFC 4468)
    Entry{6, 7, C::kContentRelated},     // Non-ASCII addresses not permitted (RFC 6531)
    Entry{6, 8, C::kContentRelated},     // UTF-8 string reply required (RFC 6531)
    Entry{6, 9, C::kContentRelated},     // UTF-8 header message cannot be transferred (RFC 6531)
    Entry{6, 10, C::kContentRelated},    // (RFC 6531, as 6.8)
    Entry{7, 0, C::kPolicyRelated},      // Other or undefined security status
    Entry{7, 1, C::kPolicyRelated},      // Delivery not authorized, message refused
    Entry{7, 2, C::kPolicyRelated},      // Mailing list expansion prohibited
    Entry{7, 3, C::kBadConfiguration},   // Security conversion required but not possible
    Entry{7, 4, C::kBadConfiguration},   // Security features not supported
    Entry{7, 5, C::kBadConfiguration},   // Cryptographic failure (TLS, signatures)
    Entry{7, 6, C::kBadConfiguration},   // Cryptographic algorithm not supported
    Entry{7, 7, C::kContentRelated},     // Message integrity failure
    Entry{7, 8, C::kBadConfiguration},   // Authentication credentials invalid (RFC 4954)
    Entry{7, 9, C::kBadConfiguration},   // Authentication mechanism is too weak
    Entry{7, 10, C::kBadConfiguration},  // Encryption needed (RFC 5248)
    Entry{7, 11, C::kBadConfiguration},  // Encryption required for the authentication mechanism
    Entry{7, 12, C::kBadConfiguration},  // A password transition is needed
    Entry{7, 13, C::kBadConfiguration},  // User account disabled: the account we log in with
    Entry{7, 14, C::kBadConfiguration},  // Trust relationship required
    Entry{7, 15, C::kPolicyRelated},     // Priority level is too low (RFC 6710)
    Entry{7, 16, C::kContentRelated},    // Message is too big for the specified priority
    Entry{7, 17, C::kInactiveMailbox},   // Mailbox owner has changed (RFC 7293)
    Entry{7, 18, C::kBadDomain},         // Domain owner has changed
    Entry{7, 19, C::kOther},             // RRVS test cannot be completed
    Entry{7, 20, C::kPolicyRelated},     // No passing DKIM signature found (RFC 7372)
    Entry{7, 21, C::kPolicyRelated},     // No acceptable DKIM signature found
    Entry{7, 22, C::kPolicyRelated},     // No valid author-matched DKIM signature found
    Entry{7, 23, C::kPolicyRelated},     // SPF validation failed
    Entry{7, 24, C::kPolicyRelated},     // SPF validation error
    Entry{7, 25, C::kPolicyRelated},     // Reverse DNS validation failed
    Entry{7, 26, C::kPolicyRelated},     // Multiple authentication checks failed
    Entry{7, 27, C::kPolicyRelated},     // Sender address has null MX (RFC 7505)
    Entry{7, 28, C::kSpamRelated},       // Mail flood detected
    Entry{7, 29, C::kPolicyRelated},     // ARC validation failure (RFC 8617)
    Entry{7, 30, C::kBadConfiguration},  // REQUIRETLS support required (RFC 8689)
};

// Digits at text[*at..], at most 3 and without a leading zero (RFC 3463 §2); moves *at.
std::optional<uint16_t> Number(absl::string_view text, size_t* at) {
  const size_t start = *at;
  uint16_t value = 0;
  while (*at < text.size() && absl::ascii_isdigit(static_cast<unsigned char>(text[*at]))) {
    if (*at - start == 3) return std::nullopt;
    value = static_cast<uint16_t>(value * 10 + (text[*at] - '0'));
    ++*at;
  }
  if (*at == start || (*at - start > 1 && text[start] == '0')) return std::nullopt;
  return value;
}

struct Parsed {
  uint16_t subject = 0;
  uint16_t detail = 0;
  size_t end = 0;  // one past the code
};

// The code that starts at text[at], or nullopt.
std::optional<Parsed> ParseAt(absl::string_view text, size_t at) {
  if (at >= text.size() || (text[at] != '2' && text[at] != '4' && text[at] != '5')) {
    return std::nullopt;
  }
  size_t i = at + 1;
  if (i >= text.size() || text[i] != '.') return std::nullopt;
  ++i;
  const std::optional<uint16_t> subject = Number(text, &i);
  if (!subject.has_value() || i >= text.size() || text[i] != '.') return std::nullopt;
  ++i;
  const std::optional<uint16_t> detail = Number(text, &i);
  if (!detail.has_value()) return std::nullopt;
  return Parsed{*subject, *detail, i};
}

bool IsCodeByte(char c) { return c == '.' || absl::ascii_isdigit(static_cast<unsigned char>(c)); }

}  // namespace

std::optional<BounceClass> ClassOfEnhancedCode(absl::string_view code) {
  const std::optional<Parsed> parsed = ParseAt(code, 0);
  if (!parsed.has_value() || parsed->end != code.size()) return std::nullopt;
  std::optional<BounceClass> subject_class;
  for (const Entry& e : kTable) {
    if (e.subject != parsed->subject) continue;
    if (e.detail == parsed->detail) return e.bounce_class;
    if (e.detail == 0) subject_class = e.bounce_class;
  }
  return subject_class;
}

absl::string_view FindEnhancedCode(absl::string_view text) {
  for (size_t at = 0; at < text.size(); ++at) {
    if (at > 0 && IsCodeByte(text[at - 1])) continue;
    const std::optional<Parsed> parsed = ParseAt(text, at);
    if (!parsed.has_value()) continue;
    // "4.16.55.1" is no code; "5.1.1." at the end of a sentence is.
    const size_t end = parsed->end;
    const bool digit_next =
        end < text.size() && absl::ascii_isdigit(static_cast<unsigned char>(text[end]));
    const bool more_code = end + 1 < text.size() && text[end] == '.' &&
                           absl::ascii_isdigit(static_cast<unsigned char>(text[end + 1]));
    const bool longer = digit_next || more_code;
    if (!longer) return text.substr(at, parsed->end - at);
  }
  return "";
}

}  // namespace tern::delivery
