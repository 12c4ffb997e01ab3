// Entry normalisation and validation (suppression/entry.h).
#include "suppression/entry.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace tern::suppression {
namespace {

constexpr absl::string_view kReasonNames[kReasonCount] = {"hard-bounce", "complaint", "unsubscribe",
                                                          "manual"};

bool IsPlainByte(char c) {
  const auto b = static_cast<unsigned char>(c);
  return b > 0x20 && b != 0x7f;
}

absl::Status CheckDomain(absl::string_view domain, absl::string_view what) {
  if (domain.empty()) return absl::InvalidArgumentError(absl::StrCat("empty ", what));
  if (domain.size() > kDomainBytesMax) {
    return absl::InvalidArgumentError(absl::StrCat(what, " longer than ", kDomainBytesMax));
  }
  for (char c : domain) {
    if (!IsPlainByte(c) || c == '@') {
      return absl::InvalidArgumentError(absl::StrCat("bad byte in ", what));
    }
  }
  return absl::OkStatus();
}

std::string Lowercased(absl::string_view text) {
  std::string out(text.size(), '\0');
  LowercaseInto(text, out.data());
  return out;
}

}  // namespace

absl::string_view ReasonName(Reason reason) {
  const int i = ReasonIndex(reason);
  return i >= 0 && i < kReasonCount ? kReasonNames[i] : "unknown";
}

std::optional<Reason> ParseReason(absl::string_view name) {
  for (int i = 0; i < kReasonCount; ++i) {
    if (name == kReasonNames[i]) return static_cast<Reason>(i + 1);
  }
  return std::nullopt;
}

bool IsKnownReason(uint8_t value) { return value >= 1 && value <= kReasonCount; }

absl::StatusOr<Target> NormalizeTarget(absl::string_view text) {
  if (text.empty()) return absl::InvalidArgumentError("empty address");
  if (text.size() > kDomainBytesMax + 1) {
    return absl::InvalidArgumentError(absl::StrCat("address longer than ", kAddressBytesMax));
  }
  const size_t at = text.rfind('@');
  if (at == absl::string_view::npos || at == 0) {
    absl::string_view domain = at == 0 ? text.substr(1) : text;
    absl::Status status = CheckDomain(domain, "domain");
    if (!status.ok()) return status;
    return Target{Lowercased(domain), true};
  }
  if (text.size() > kAddressBytesMax) {
    return absl::InvalidArgumentError(absl::StrCat("address longer than ", kAddressBytesMax));
  }
  absl::Status status = CheckDomain(text.substr(at + 1), "address domain");
  if (!status.ok()) return status;
  for (char c : text.substr(0, at)) {
    if (!IsPlainByte(c)) return absl::InvalidArgumentError("bad byte in address");
  }
  return Target{Lowercased(text), false};
}

absl::StatusOr<std::string> NormalizeScope(absl::string_view text) {
  if (text.empty() || text == "global") return std::string();
  if (text[0] == '@') text.remove_prefix(1);
  absl::Status status = CheckDomain(text, "scope domain");
  if (!status.ok()) return status;
  return Lowercased(text);
}

absl::Status ValidateEntry(const Entry& entry) {
  absl::StatusOr<Target> target = NormalizeTarget(entry.target);
  if (!target.ok()) return target.status();
  if (target->text != entry.target) {
    return absl::InvalidArgumentError(absl::StrCat("target not normalised: ", entry.target));
  }
  if (!entry.scope.empty()) {
    absl::StatusOr<std::string> scope = NormalizeScope(entry.scope);
    if (!scope.ok()) return scope.status();
    if (*scope != entry.scope || entry.scope == "global") {
      return absl::InvalidArgumentError(absl::StrCat("scope not normalised: ", entry.scope));
    }
  }
  if (!IsKnownReason(static_cast<uint8_t>(entry.reason))) {
    return absl::InvalidArgumentError("unknown reason");
  }
  if (entry.event.size() > kEventBytesMax) {
    return absl::InvalidArgumentError(absl::StrCat("event longer than ", kEventBytesMax));
  }
  if (entry.created < 0 || entry.created > kTimeMax || entry.expires < 0 ||
      entry.expires > kTimeMax) {
    return absl::InvalidArgumentError("time out of range (unix seconds up to 2106)");
  }
  return absl::OkStatus();
}

}  // namespace tern::suppression
