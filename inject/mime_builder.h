// One recipient's RFC 5322 + MIME message from structured content whose templates are
// already expanded: the header (From, To, Reply-To, Subject, Date, Message-ID,
// MIME-Version, the client's extra fields), then the body: a text or html part alone, both
// as multipart/alternative, and with attachments all of it inside multipart/mixed.
//
//   MessageSpec spec{.from = content.from, .to = recipient.mailbox, .subject = subject,
//                    .text_body = text, .message_id = NewMessageId(host),
//                    .date = DateField(now), .attachments = &content.attachments};
//   ASSIGN_OR_RETURN(std::string message, BuildMimeMessage(spec));
//
// The result has CRLF line endings only and no line over 998 octets (checked before it is
// returned); text parts are declared charset=utf-8 and sent 7bit, quoted-printable or
// base64 (transfer_encoding.h); attachments base64 in 76-column lines with
// Content-Disposition: attachment and their file name (RFC 2231 when not ASCII). Boundaries
// are random and checked against every part's encoded content.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "inject/inject_request.h"

namespace tern::inject {

struct MessageSpec {
  Mailbox from;
  Mailbox to;
  std::optional<Mailbox> reply_to;
  std::string subject;                   // no CR/LF; UTF-8
  StringPairs headers;                   // names valid and not reserved, values without CR/LF
  std::optional<std::string> text_body;  // any line endings; at least one of the two bodies
  std::optional<std::string> html_body;
  std::string message_id;                                      // "<...@...>"
  std::string date;                                            // RFC 5322 date-time
  const std::vector<InjectAttachment>* attachments = nullptr;  // may be null
};

absl::StatusOr<std::string> BuildMimeMessage(const MessageSpec& spec);

}  // namespace tern::inject
