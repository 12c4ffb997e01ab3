// Implementation of inject/mime_builder.h: parts are encoded first, then framed with a
// boundary that none of them contains.
#include "inject/mime_builder.h"

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "inject/header_encoding.h"
#include "inject/message_lines.h"
#include "inject/message_stamp.h"
#include "inject/transfer_encoding.h"

namespace tern::inject {
namespace {

// Tries at picking a boundary before giving up; 96 random bits collide with nothing.
constexpr int kBoundaryTries = 8;

// A text part: its MIME header fields, a blank line and its encoded body.
std::string TextPart(absl::string_view text, absl::string_view subtype) {
  const std::string crlf = NormalizeLineEndings(text);
  const TransferEncoding encoding = ChooseTextEncoding(crlf);
  std::string part =
      absl::StrCat("Content-Type: text/", subtype, "; charset=utf-8\r\n",
                   "Content-Transfer-Encoding: ", TransferEncodingName(encoding), "\r\n\r\n");
  AppendEncoded(crlf, encoding, &part);
  return part;
}

std::string AttachmentPart(const InjectAttachment& attachment) {
  std::string part =
      absl::StrCat("Content-Type: ", attachment.content_type, "\r\n",
                   "Content-Transfer-Encoding: base64\r\n", "Content-Disposition: attachment");
  if (!attachment.file_name.empty()) {
    absl::StrAppend(&part, ";\r\n ", FileNameParameter(attachment.file_name));
  }
  part += "\r\n\r\n";
  AppendEncoded(attachment.data, TransferEncoding::kBase64, &part);
  return part;
}

bool Contains(const std::vector<std::string>& parts, absl::string_view boundary) {
  for (const std::string& part : parts) {
    if (absl::StrContains(part, boundary)) return true;
  }
  return false;
}

// A multipart entity from encoded parts (RFC 2046 §5.1.1): its header fields, then each
// part after a delimiter line, then the close delimiter.
absl::StatusOr<std::string> Multipart(absl::string_view subtype,
                                      const std::vector<std::string>& parts) {
  std::string boundary;
  for (int i = 0; i < kBoundaryTries && boundary.empty(); ++i) {
    // "=_" never occurs in quoted-printable or base64 output.
    std::string candidate = absl::StrCat("=_tern_", RandomHex(12));
    if (!Contains(parts, candidate)) boundary = std::move(candidate);
  }
  if (boundary.empty()) return absl::InternalError("no MIME boundary outside the content");
  std::string out = absl::StrCat("Content-Type: multipart/", subtype, ";\r\n boundary=\"", boundary,
                                 "\"\r\n\r\n");
  for (const std::string& part : parts) {
    absl::StrAppend(&out, "--", boundary, "\r\n", part, "\r\n");
  }
  absl::StrAppend(&out, "--", boundary, "--\r\n");
  return out;
}

// The body entity: the text parts, then the attachments around them.
absl::StatusOr<std::string> BodyEntity(const MessageSpec& spec) {
  std::vector<std::string> texts;
  if (spec.text_body) texts.push_back(TextPart(*spec.text_body, "plain"));
  if (spec.html_body) texts.push_back(TextPart(*spec.html_body, "html"));
  if (texts.empty()) return absl::InvalidArgumentError("content: no text_body or html_body");
  std::string text_entity;
  if (texts.size() == 1) {
    text_entity = std::move(texts[0]);
  } else {
    absl::StatusOr<std::string> alternative = Multipart("alternative", texts);
    if (!alternative.ok()) return alternative.status();
    text_entity = std::move(*alternative);
  }
  if (spec.attachments == nullptr || spec.attachments->empty()) return text_entity;
  std::vector<std::string> parts;
  parts.push_back(std::move(text_entity));
  for (const InjectAttachment& attachment : *spec.attachments) {
    parts.push_back(AttachmentPart(attachment));
  }
  return Multipart("mixed", parts);
}

}  // namespace

absl::StatusOr<std::string> BuildMimeMessage(const MessageSpec& spec) {
  absl::StatusOr<std::string> body = BodyEntity(spec);
  if (!body.ok()) return body.status();
  std::string message = MailboxField("From", spec.from);
  message += MailboxField("To", spec.to);
  if (spec.reply_to) message += MailboxField("Reply-To", *spec.reply_to);
  message += UnstructuredField("Subject", spec.subject);
  absl::StrAppend(&message, "Date: ", spec.date, "\r\n", "Message-ID: ", spec.message_id, "\r\n",
                  "MIME-Version: 1.0\r\n");
  for (const auto& [name, value] : spec.headers) message += UnstructuredField(name, value);
  // The body entity starts with its own Content-* fields: they end the message header.
  message += *body;
  // A message ends with a line break (SMTP DATA, the spool's framing).
  if (!absl::EndsWith(message, "\r\n")) message += "\r\n";
  if (absl::Status lines = CheckMessageLines(message); !lines.ok()) {
    return absl::InternalError(absl::StrCat("built message breaks a line rule: ", lines.message()));
  }
  return message;
}

}  // namespace tern::inject
