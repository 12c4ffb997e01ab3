// SuppressedReply: how Tern words a recipient refused because of the suppression list, the
// same at RCPT (tools/ternd/suppression_screen.h) and at delivery (for mail queued before the
// entry): "550 5.1.1 <a@b>: recipient suppressed (hard-bounce, 2026-12-06)", RFC 3463 X.1.1
// (the mailbox is not to be used), with the entry's reason and the day it was made.
//
//   std::string reply = SuppressedReply("a@b.example", match->entry);  // no CRLF
#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "suppression/suppression_index.h"

namespace tern::suppression {

std::string SuppressedReply(absl::string_view recipient, const EntryView& entry);

}  // namespace tern::suppression
