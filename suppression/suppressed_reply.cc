// Implementation of suppression/suppressed_reply.h.
#include "suppression/suppressed_reply.h"

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace tern::suppression {

std::string SuppressedReply(absl::string_view recipient, const EntryView& entry) {
  return absl::StrCat(
      "550 5.1.1 <", recipient, ">: recipient suppressed (", ReasonName(entry.reason), ", ",
      absl::FormatTime("%Y-%m-%d", absl::FromUnixSeconds(entry.created), absl::UTCTimeZone()), ")");
}

}  // namespace tern::suppression
