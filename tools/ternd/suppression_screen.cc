// Implementation of tools/ternd/suppression_screen.h.
#include "tools/ternd/suppression_screen.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "suppression/suppressed_reply.h"

namespace tern::tools::ternd {

bool SuppressionScreen::Refuses(absl::string_view sender, absl::string_view recipient,
                                std::string* reply) const {
  const std::optional<suppression::Match> match =
      index_->Check(sender, recipient, absl::ToUnixSeconds(absl::Now()));
  if (!match.has_value()) return false;
  *reply = suppression::SuppressedReply(recipient, match->entry);
  reply->append("\r\n");
  return true;
}

}  // namespace tern::tools::ternd
