// TakeSuppressedRecipients: before a message's delivery attempt, the recipients put on the
// suppression list since it was queued (or accepted under --suppressed_action=drop) are
// taken out of the attempt: each gets the outcome "550 5.1.1 <a@b>: recipient suppressed
// (REASON, DATE)", flagged `suppressed`, which the ResultRecorder records as BOUNCED (with a
// DSN, as a refusal at RCPT would have told the sender) or, in drop mode, DELETED.
//
//   std::vector<RecipientOutcome> out =
//       TakeSuppressedRecipients(list->index(), *entry, now_unix, &left);
#pragma once

#include <cstdint>
#include <vector>

#include "delivery/delivery_job.h"
#include "spool/queue_index.h"
#include "suppression/suppression_index.h"

namespace tern::delivery {

// Removes from `left` (recipient indexes of `entry`) those on the list at `now` (unix
// seconds, for the entries' expiry) for the message's sender; returns their outcomes in
// the order they were in `left`.
std::vector<RecipientOutcome> TakeSuppressedRecipients(const suppression::SuppressionIndex& index,
                                                       const spool::QueueEntry& entry, int64_t now,
                                                       std::vector<uint32_t>* left);

}  // namespace tern::delivery
