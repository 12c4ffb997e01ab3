// Implementation of delivery/suppressed_recipients.h.
#include "delivery/suppressed_recipients.h"

#include <utility>

#include "core/check.h"
#include "suppression/suppressed_reply.h"

namespace tern::delivery {

std::vector<RecipientOutcome> TakeSuppressedRecipients(const suppression::SuppressionIndex& index,
                                                       const spool::QueueEntry& entry, int64_t now,
                                                       std::vector<uint32_t>* left) {
  std::vector<RecipientOutcome> suppressed;
  if (index.size() == 0) return suppressed;  // the common case: nothing to look up
  size_t kept = 0;
  for (uint32_t recipient : *left) {
    CHECK_LT(recipient, entry.recipient_count());
    const absl::string_view address = entry.recipient(recipient);
    const std::optional<suppression::Match> match = index.Check(entry.sender(), address, now);
    if (!match.has_value()) {
      (*left)[kept++] = recipient;
      continue;
    }
    suppressed.push_back({.recipient = recipient,
                          .outcome = net::smtp::DeliveryOutcome::kPermFailed,
                          .code = 550,
                          .enhanced = "5.1.1",
                          .reply = suppression::SuppressedReply(address, match->entry),
                          .suppressed = true});
  }
  left->resize(kept);
  return suppressed;
}

}  // namespace tern::delivery
