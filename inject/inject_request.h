// The body of `POST /api/inject/v1` (issue 18 §5), parsed and validated into plain values.
// Nothing here builds a message: substitution and MIME come later, per recipient.
//
//   absl::StatusOr<InjectRequest> request = ParseInjectRequest(body, InjectLimits{});
//   if (!request.ok()) return Answer400(request.status().message());  // every problem listed
//   for (const FailedRecipient& f : request->failed_recipients) Report(f.index, f.reason);
//
// The request:
//   {"envelope_sender": "bounces@example.com",
//    "recipients": [{"email": "a@example.net", "name": "Ann", "substitutions": {"first": "Ann"}}],
//    "content": "<RFC 5322 text>"  or  {"from": ..., "subject": ..., "reply_to": ...,
//        "text_body": ..., "html_body": ..., "headers": {"X-Campaign": "42"},
//        "attachments": [{"content_type": "application/pdf", "file_name": "a.pdf",
//                         "data": "...", "base64": true}]},
//    "substitutions": {"company": "Example"}, "pool": "newsletter", "metadata": {...}}
//
// Decisions:
//  - An unknown field, a wrong type, a missing required field, a NUL byte in any string, CR
//    or LF in any value that becomes a header, an invalid sender or From address: the whole
//    request is refused (InvalidArgument; ResourceExhausted for a limit), its message listing
//    up to InjectLimits::errors_reported_max problems, each with its path
//    ("content.attachments[2].flie_name: unknown field"), joined by "; ".
//  - A recipient whose address is invalid is left out and listed in failed_recipients with
//    its reason; the others proceed. With no valid recipient at all the request is refused.
//  - Duplicate JSON keys are refused (bounded_json.h).
//  - Addresses are ASCII RFC 5321 mailboxes (net/smtp/address.h's parser), with a domain:
//    no SMTPUTF8 addresses yet, no source routes, no "<>".
//  - envelope_sender may be left out with structured content: it is then from's address.
//  - from and reply_to are an address string or {"email": ..., "name": ...}.
//  - Substitution values may hold CR/LF (for bodies); in headers they become spaces.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "inject/inject_limits.h"

namespace tern::inject {

// Key → value pairs in the order given (keys unique: duplicate JSON keys are refused).
using StringPairs = std::vector<std::pair<std::string, std::string>>;

struct Mailbox {
  std::string email;  // a valid mailbox, ASCII
  std::string name;   // display name, UTF-8, no CR/LF; may be empty
};

struct InjectRecipient {
  Mailbox mailbox;
  StringPairs substitutions;  // override the request's
  size_t index = 0;           // position in the request's "recipients" array
};

struct FailedRecipient {
  size_t index = 0;  // position in the request's "recipients" array
  std::string email;
  std::string reason;
};

struct InjectAttachment {
  std::string content_type;  // "type/subtype", tokens only
  std::string file_name;     // UTF-8, no CR/LF, no '/' or '\'; may be empty
  std::string data;          // decoded bytes
};

// Structured content: the parts the MIME builder assembles. At least one of text_body and
// html_body is present.
struct StructuredContent {
  Mailbox from;
  std::optional<Mailbox> reply_to;
  std::string subject;  // template, no CR/LF
  std::optional<std::string> text_body;
  std::optional<std::string> html_body;
  StringPairs headers;  // validated names (not one the builder writes itself)
  std::vector<InjectAttachment> attachments;
};

struct InjectRequest {
  std::string envelope_sender;
  std::vector<InjectRecipient> recipients;  // the valid ones, at least one
  std::vector<FailedRecipient> failed_recipients;
  // Exactly one of these two.
  std::optional<std::string> raw_content;  // RFC 5322 text template
  std::optional<StructuredContent> content;
  StringPairs substitutions;  // request level
  std::string pool;           // empty: the default pool
  StringPairs metadata;
};

absl::StatusOr<InjectRequest> ParseInjectRequest(absl::string_view body,
                                                 const InjectLimits& limits);

// Checks used by the parser, exposed for the builder and tests.
// An RFC 5321 mailbox with a domain, ASCII only: "" when valid, else the reason.
std::string MailboxProblem(absl::string_view address, size_t bytes_max);
// RFC 5322 §3.6.8 field-name: 1..76 printable US-ASCII characters except ':'.
bool IsHeaderFieldName(absl::string_view name);
// Header names the builder writes itself, so a client may not supply them (case-insensitive):
// From, To, Subject, Reply-To, Date, Message-ID, MIME-Version, Content-*, Bcc, Return-Path.
bool IsReservedHeaderName(absl::string_view name);

}  // namespace tern::inject
