// Implementation of delivery/bounce_class.h.
#include "delivery/bounce_class.h"

#include <array>

#include "core/check.h"

namespace tern::delivery {
namespace {

// In enum order.
constexpr std::array<absl::string_view, kBounceClassCount> kNames = {
    "bad-mailbox",         "inactive-mailbox",
    "bad-domain",          "quota-issues",
    "policy-related",      "spam-related",
    "content-related",     "routing-errors",
    "no-answer-from-host", "relaying-issues",
    "protocol-errors",     "message-expired",
    "bad-configuration",   "other",
};

}  // namespace

absl::string_view BounceClassName(BounceClass c) {
  const auto index = static_cast<size_t>(c);
  CHECK_LT(index, kBounceClassCount);
  return kNames[index];
}

std::optional<BounceClass> ParseBounceClassName(absl::string_view name) {
  for (size_t i = 0; i < kBounceClassCount; ++i) {
    if (kNames[i] == name) return static_cast<BounceClass>(i);
  }
  return std::nullopt;
}

bool IsHardBounceClass(BounceClass c) {
  return c == BounceClass::kBadMailbox || c == BounceClass::kInactiveMailbox ||
         c == BounceClass::kBadDomain;
}

}  // namespace tern::delivery
