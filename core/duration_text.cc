// Implementation of core/duration_text.h.
#include "core/duration_text.h"

#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace tern::core {

absl::StatusOr<absl::Duration> ParsePositiveDuration(absl::string_view text) {
  static constexpr int64_t kDaysMax = 3650;
  text = absl::StripAsciiWhitespace(text);
  if (!text.empty() && text.back() == 'd') {
    int64_t days = 0;
    if (absl::SimpleAtoi(text.substr(0, text.size() - 1), &days) && days > 0 && days <= kDaysMax) {
      return absl::Hours(24 * days);
    }
    return absl::InvalidArgumentError(
        absl::StrCat("bad duration '", text, "' (days: 1d to ", kDaysMax, "d)"));
  }
  absl::Duration duration;
  if (!absl::ParseDuration(text, &duration) || duration <= absl::ZeroDuration() ||
      duration == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad duration '", text, "' (examples: 30s, 5m, 1h30m, 5d)"));
  }
  return duration;
}

}  // namespace tern::core
