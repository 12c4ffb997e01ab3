// The BounceClass an enhanced status code implies (RFC 3463 and the codes registered since
// in IANA's "SMTP Enhanced Status Codes" registry: RFC 3886, 4468, 4954, 5248, 6531, 6710,
// 7293, 7372, 7505, 8617, 8689), and finding such a code in a reply's text. The
// BounceClassifier (delivery/bounce_classifier.h) falls back on this table when no rule
// matches the reply.
//
//   ClassOfEnhancedCode("5.1.1") == BounceClass::kBadMailbox
//   ClassOfEnhancedCode("4.4.7") == BounceClass::kMessageExpired
//   ClassOfEnhancedCode("5.9.99") == std::nullopt  // not registered: the caller decides
//   FindEnhancedCode("554 delivery error: ... (#5.1.1)") == "5.1.1"
//
// The class digit (2, 4 or 5) does not change the class: a deferral and a bounce for the
// same reason get the same word. Unregistered details of a known subject take the subject's
// X.N.0 class ("5.7.99" → policy-related), as RFC 3463 §2 asks of a client.
#pragma once

#include <optional>

#include "absl/strings/string_view.h"
#include "delivery/bounce_class.h"

namespace tern::delivery {

// The class of `code` ("class.subject.detail", class 2, 4 or 5), or nullopt when it is not
// one or its subject is not registered (X.0.0 is registered: other).
std::optional<BounceClass> ClassOfEnhancedCode(absl::string_view code);

// The first enhanced status code that stands alone in `text` (not part of a longer run of
// digits and dots, so "4.16.55.1" is none), or "" when there is none.
absl::string_view FindEnhancedCode(absl::string_view text);

}  // namespace tern::delivery
