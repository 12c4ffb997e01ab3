// A suppression entry: an address or a whole domain that Tern must not mail, globally or for
// one sender domain, with why (reason, the event that caused it), since when and until when.
//
// Addresses and domains are compared case-insensitively: the whole address, local part
// included, is lowercased (ASCII letters only; other bytes are kept as they are). RFC 5321
// §2.4 lets a receiver treat local parts as case-sensitive, but no mailbox provider does,
// and a suppression must not be dodged by "User@" versus "user@".
//
//   ASSIGN_OR_RETURN(Target t, NormalizeTarget("User@Example.COM"));  // user@example.com
//   ASSIGN_OR_RETURN(Target d, NormalizeTarget("@Example.com"));      // example.com, domain
//   Entry e{.target = t.text, .reason = Reason::kHardBounce, .event = "550 5.1.1 ...",
//           .created = now};
//   RETURN_IF_ERROR(ValidateEntry(e));
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tern::suppression {

// Why an entry exists. The numbers are stored in the journal: never renumber.
enum class Reason : uint8_t {
  kHardBounce = 1,
  kComplaint = 2,
  kUnsubscribe = 3,
  kManual = 4,
};
inline constexpr int kReasonCount = 4;
// "hard-bounce", "complaint", "unsubscribe", "manual".
absl::string_view ReasonName(Reason reason);
std::optional<Reason> ParseReason(absl::string_view name);
bool IsKnownReason(uint8_t value);
// 0 for kHardBounce ... kReasonCount - 1: an index for per-reason arrays.
inline int ReasonIndex(Reason reason) { return static_cast<int>(reason) - 1; }

// Limits (hostile input: every length is bounded). An address is at most 254 bytes (RFC 5321
// §4.5.3.1.3's 256-byte path less its angle brackets), a domain 255 (§4.5.3.1.2), the event
// text 256.
inline constexpr size_t kAddressBytesMax = 254;
inline constexpr size_t kDomainBytesMax = 255;
inline constexpr size_t kEventBytesMax = 256;
// Times are unix seconds in [0, kTimeMax] (up to 2106: the index stores them in 32 bits).
inline constexpr int64_t kTimeMax = UINT32_MAX;

// A normalised address ("user@example.com") or domain ("example.com").
struct Target {
  std::string text;
  bool is_domain = false;
};

// Lowercases `text` and checks its form: "local@domain" (split at the last '@', both parts
// non-empty) is an address; "domain" or "@domain" a domain. No spaces or control bytes.
absl::StatusOr<Target> NormalizeTarget(absl::string_view text);
// A sender scope: "" (or "global") is global, otherwise a domain ("@d" accepted), lowercased.
absl::StatusOr<std::string> NormalizeScope(absl::string_view text);

// Lowercases ASCII letters of `text` into `out` (which has room for text.size() bytes).
inline void LowercaseInto(absl::string_view text, char* out) {
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    out[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c;
  }
}

struct Entry {
  std::string target;  // normalised (NormalizeTarget): an address, or a domain (no '@')
  std::string scope;   // "" = global, else the sender domain, normalised
  Reason reason = Reason::kManual;
  std::string event;    // free text, at most kEventBytesMax bytes
  int64_t created = 0;  // unix seconds
  int64_t expires = 0;  // unix seconds, 0 = never

  bool is_domain() const { return target.find('@') == std::string::npos; }
  friend bool operator==(const Entry&, const Entry&) = default;
};

// Checks that `entry` is normalised and within the limits (InvalidArgument otherwise).
absl::Status ValidateEntry(const Entry& entry);

}  // namespace tern::suppression
