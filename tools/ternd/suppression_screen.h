// SuppressionScreen: the suppression list as the SMTP session's RecipientScreen: a RCPT to an
// address (or a domain) on the list, globally or for the sender's domain, gets
// "550 5.1.1 <addr>: recipient suppressed (hard-bounce, 2026-12-06)" (RFC 3463 X.1.1: the
// mailbox is not to be used). One lookup in the shared index: no lock, no allocation unless
// it refuses.
//
//   SuppressionScreen screen(&list->index());
//   session_config.recipient_screen = &screen;
#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "net/smtp/recipient_screen.h"
#include "suppression/suppression_index.h"

namespace tern::tools::ternd {

class SuppressionScreen final : public net::smtp::RecipientScreen {
 public:
  explicit SuppressionScreen(const suppression::SuppressionIndex* index) : index_(index) {}
  bool Refuses(absl::string_view sender, absl::string_view recipient,
               std::string* reply) const override;

 private:
  const suppression::SuppressionIndex* const index_;
};

}  // namespace tern::tools::ternd
