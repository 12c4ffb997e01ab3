// BounceClass: why a recipient was deferred, bounced or expired, in one of 14 words that
// operators of PowerMTA-style relays already read ("bad-mailbox", "quota-issues", ...). The
// delivery log, the suppression list and ternctl's reports carry the class; the
// BounceClassifier (delivery/bounce_classifier.h) decides it from the reply.
//
//   BounceClassName(BounceClass::kBadMailbox) == "bad-mailbox"
//   ParseBounceClassName("quota-issues") == BounceClass::kQuotaIssues
//   IsHardBounceClass(BounceClass::kBadDomain)  // true: feeds the suppression list
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "absl/strings/string_view.h"

namespace tern::delivery {

enum class BounceClass : uint8_t {
  kBadMailbox,        // the mailbox does not exist (X.1.1)
  kInactiveMailbox,   // it exists but is disabled, suspended, inactive (X.2.1)
  kBadDomain,         // the domain does not exist or accepts no mail (X.1.2, X.1.10)
  kQuotaIssues,       // mailbox full, or the recipient receives too much (X.2.2)
  kPolicyRelated,     // refused by the receiver's policy: reputation, authentication, rate
  kSpamRelated,       // refused as spam, or the sender is on a block list
  kContentRelated,    // the message itself: size, virus, attachment, format (X.3.4, X.6.x)
  kRoutingErrors,     // the receiver or DNS cannot route it (X.4.3, X.4.4, X.4.6)
  kNoAnswerFromHost,  // no connection, timeout, connection lost (X.4.1, X.4.2)
  kRelayingIssues,    // relay access denied (X.7.1 "relay", X.4.6 loops are routing)
  kProtocolErrors,    // SMTP syntax or sequence (X.5.x)
  kMessageExpired,    // delivery time expired (X.4.7)
  kBadConfiguration,  // a system misconfigured: TLS required or failing, X.3.5
  kOther,             // none of the above
};
inline constexpr size_t kBounceClassCount = 14;
static_assert(static_cast<size_t>(BounceClass::kOther) + 1 == kBounceClassCount);

// The class's name, e.g. "bad-mailbox"; never empty.
absl::string_view BounceClassName(BounceClass c);

// The class named `name` (exactly as BounceClassName spells it), or nullopt.
std::optional<BounceClass> ParseBounceClassName(absl::string_view name);

// True for bad-mailbox, inactive-mailbox and bad-domain: the classes that feed suppression.
bool IsHardBounceClass(BounceClass c);

}  // namespace tern::delivery
