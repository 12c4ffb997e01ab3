// Implementation of queue/rate_spec.h: the "N/period[,max_burst=B]" grammar.
#include "queue/rate_spec.h"

#include <array>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace tern::queue {
namespace {

constexpr absl::Duration kPeriodMax = absl::Hours(24 * 366);
constexpr size_t kTextBytesMax = 128;

struct PeriodUnit {
  absl::string_view name;
  absl::Duration length;
};
// "m" is accepted for minutes because operators write "10/5m" as they write "5m" in
// --retry_schedule; ToString() writes the long names.
constexpr std::array<PeriodUnit, 8> kPeriodUnits = {{
    {"ms", absl::Milliseconds(1)},
    {"s", absl::Seconds(1)},
    {"sec", absl::Seconds(1)},
    {"m", absl::Minutes(1)},
    {"min", absl::Minutes(1)},
    {"h", absl::Hours(1)},
    {"hour", absl::Hours(1)},
    {"day", absl::Hours(24)},
}};

absl::Status Bad(absl::string_view text, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("bad rate '", text.substr(0, kTextBytesMax), "': ", why,
                   " (examples: \"2000/s\", \"3000/min\", \"10/5min\", \"600/min,max_burst=1\")"));
}

// A count in 1..kCountMax, digits only.
bool ParseCount(absl::string_view digits, uint64_t& count) {
  if (digits.empty() || digits.size() > 10) return false;
  for (char c : digits) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  if (!absl::SimpleAtoi(digits, &count)) return false;
  return count >= 1 && count <= RateSpec::kCountMax;
}

// "s", "5min", "1h": an optional multiplier then a unit.
bool ParsePeriod(absl::string_view text, absl::Duration& period) {
  size_t digits = 0;
  while (digits < text.size() && absl::ascii_isdigit(static_cast<unsigned char>(text[digits]))) {
    ++digits;
  }
  uint64_t multiplier = 1;
  if (digits > 0 && !ParseCount(text.substr(0, digits), multiplier)) return false;
  const absl::string_view unit = text.substr(digits);
  for (const PeriodUnit& known : kPeriodUnits) {
    if (unit != known.name) continue;
    if (multiplier > static_cast<uint64_t>(kPeriodMax / known.length)) return false;
    period = known.length * static_cast<int64_t>(multiplier);
    return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<RateSpec> RateSpec::Parse(absl::string_view text) {
  if (text.size() > kTextBytesMax) return Bad(text, "too long");
  absl::string_view rest = absl::StripAsciiWhitespace(text);
  absl::string_view burst_text;
  bool burst_given = false;
  if (const size_t comma = rest.find(','); comma != absl::string_view::npos) {
    burst_given = true;
    burst_text = absl::StripAsciiWhitespace(rest.substr(comma + 1));
    rest = absl::StripAsciiWhitespace(rest.substr(0, comma));
    if (!absl::ConsumePrefix(&burst_text, "max_burst")) {
      return Bad(text, "after the comma only max_burst=B may follow");
    }
    burst_text = absl::StripLeadingAsciiWhitespace(burst_text);
    if (!absl::ConsumePrefix(&burst_text, "=")) return Bad(text, "max_burst needs =B");
    burst_text = absl::StripLeadingAsciiWhitespace(burst_text);
  }
  const size_t slash = rest.find('/');
  if (slash == absl::string_view::npos) return Bad(text, "expected N/period");
  RateSpec spec;
  if (!ParseCount(absl::StripAsciiWhitespace(rest.substr(0, slash)), spec.count)) {
    return Bad(text, absl::StrCat("N must be a whole number from 1 to ", kCountMax));
  }
  if (!ParsePeriod(absl::StripAsciiWhitespace(rest.substr(slash + 1)), spec.period)) {
    return Bad(text, "the period is [M]ms|s|sec|m|min|h|hour|day, at most 366 days");
  }
  spec.burst = spec.count;
  if (burst_given && !ParseCount(burst_text, spec.burst)) {
    return Bad(text, absl::StrCat("max_burst must be a whole number from 1 to ", kCountMax));
  }
  return spec;
}

std::string RateSpec::ToString() const {
  std::string period_text;
  if (period % absl::Hours(24) == absl::ZeroDuration()) {
    const int64_t days = period / absl::Hours(24);
    period_text = days == 1 ? "day" : absl::StrCat(days, "day");
  } else if (period % absl::Hours(1) == absl::ZeroDuration()) {
    const int64_t hours = period / absl::Hours(1);
    period_text = hours == 1 ? "h" : absl::StrCat(hours, "h");
  } else if (period % absl::Minutes(1) == absl::ZeroDuration()) {
    const int64_t minutes = period / absl::Minutes(1);
    period_text = minutes == 1 ? "min" : absl::StrCat(minutes, "min");
  } else if (period % absl::Seconds(1) == absl::ZeroDuration()) {
    const int64_t seconds = period / absl::Seconds(1);
    period_text = seconds == 1 ? "s" : absl::StrCat(seconds, "s");
  } else {
    period_text = absl::StrCat(absl::ToInt64Milliseconds(period), "ms");
  }
  std::string out = absl::StrCat(count, "/", period_text);
  if (burst != count) absl::StrAppend(&out, ",max_burst=", burst);
  return out;
}

}  // namespace tern::queue
