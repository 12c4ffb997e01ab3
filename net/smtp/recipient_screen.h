// RecipientScreen: the last word on a RCPT that passed the relay checks, for recipients the
// operator has asked never to mail (the suppression list, tools/ternd/suppression_screen.h).
// The session asks it for every recipient of every transaction, on the shard's thread: an
// implementation must be cheap, take no lock on the common path and allocate only to
// refuse.
//
//   std::string reply;
//   if (screen->Refuses(sender, recipient, &reply)) Reply(reply);  // "550 5.1.1 ...\r\n"
#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace tern::net::smtp {

class RecipientScreen {
 public:
  virtual ~RecipientScreen() = default;
  // True when `recipient` (dequoted "local@domain") must be refused for mail from `sender`
  // ("" for <>); *reply is then the whole reply line, CRLF included.
  virtual bool Refuses(absl::string_view sender, absl::string_view recipient,
                       std::string* reply) const = 0;
};

}  // namespace tern::net::smtp
