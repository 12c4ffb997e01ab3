// Implementation of delivery/dsn_builder.h.
#include "delivery/dsn_builder.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace tern::delivery {
namespace {

std::string Rfc5322Date(absl::Time t) {
  return absl::FormatTime("%a, %d %b %Y %H:%M:%S +0000", t, absl::UTCTimeZone());
}

bool IsAscii(absl::string_view text) {
  for (unsigned char c : text) {
    if (c >= 0x80) return false;
  }
  return true;
}

// RFC 3464 §2.3.2 / RFC 6533: "rfc822; a@b" for ASCII addresses, "utf-8; ..." otherwise.
// The report is message/delivery-status (US-ASCII), so non-ASCII bytes become "?"; sending
// message/global-delivery-status with the UTF-8 address intact is still to do.
std::string AddressField(absl::string_view address) {
  return absl::StrCat(IsAscii(address) ? "rfc822; " : "utf-8; ",
                      SanitizeFieldText(address, kDsnFieldBytesMax));
}

const char* ActionName(DsnAction action) {
  switch (action) {
    case DsnAction::kFailed:
      return "failed";
    case DsnAction::kDelayed:
      return "delayed";
    case DsnAction::kDelivered:
      return "delivered";
    case DsnAction::kRelayed:
      return "relayed";
  }
  return "failed";
}

// A status that is a well-formed "C.S.D" with the class the action implies, else a default.
std::string StatusFor(const DsnRecipient& r) {
  const char* fallback = r.action == DsnAction::kFailed    ? "5.0.0"
                         : r.action == DsnAction::kDelayed ? "4.0.0"
                                                           : "2.0.0";
  absl::string_view s = r.status;
  if (s.size() < 5 || s.size() > 11 || s[1] != '.') return fallback;
  const char expected_class = fallback[0];
  if (s[0] != expected_class) return fallback;
  for (char c : s) {
    if (c != '.' && (c < '0' || c > '9')) return fallback;
  }
  return std::string(s);
}

// Appends `text` (already CRLF) dot-stuffed: a line starting with "." gets another.
void AppendStuffedLine(std::string* out, absl::string_view line) {
  if (!line.empty() && line.front() == '.') out->push_back('.');
  absl::StrAppend(out, line, "\r\n");
}

}  // namespace

std::string DecodeXtext(absl::string_view xtext) {
  auto nibble = [](char c) { return absl::ascii_isdigit(c) ? c - '0' : (c | 0x20) - 'a' + 10; };
  std::string out;
  out.reserve(xtext.size());
  for (size_t i = 0; i < xtext.size(); ++i) {
    const bool escape = xtext[i] == '+' && i + 2 < xtext.size() &&
                        absl::ascii_isxdigit(xtext[i + 1]) && absl::ascii_isxdigit(xtext[i + 2]);
    if (escape) {
      out.push_back(static_cast<char>(nibble(xtext[i + 1]) * 16 + nibble(xtext[i + 2])));
      i += 2;
    } else {
      out.push_back(xtext[i]);
    }
  }
  return out;
}

std::string SanitizeFieldText(absl::string_view text, size_t bytes_max) {
  std::string out;
  out.reserve(std::min(text.size(), bytes_max));
  for (unsigned char c : text) {
    if (out.size() >= bytes_max) break;
    if (c < 0x20 || c == 0x7f) {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
    } else if (c >= 0x80) {
      out.push_back('?');
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

absl::string_view HeaderSection(absl::string_view stored_message) {
  if (stored_message.substr(0, 2) == "\r\n") return stored_message.substr(0, 2);
  size_t end = stored_message.find("\r\n\r\n");
  if (end == absl::string_view::npos) return stored_message;
  return stored_message.substr(0, end + 4);
}

std::string BuildDsn(const DsnRequest& request) {
  const std::string mta = SanitizeFieldText(request.reporting_mta, 255);
  const std::string token = SanitizeFieldText(request.unique_token, 64);
  const std::string boundary =
      absl::StrCat("=_tern_dsn_", token, "_", absl::ToUnixMicros(request.now));
  bool any_failed = false;
  bool any_delayed = false;
  for (const DsnRecipient& r : request.recipients) {
    any_failed |= r.action == DsnAction::kFailed;
    any_delayed |= r.action == DsnAction::kDelayed;
  }
  // Success reports (NOTIFY=SUCCESS) only when nothing failed or is delayed.
  const bool success = !any_failed && !any_delayed;

  std::string out;
  absl::StrAppend(&out, "From: Mail Delivery System <MAILER-DAEMON@", mta, ">\r\n");
  absl::StrAppend(&out, "To: <", SanitizeFieldText(request.original_sender, kDsnFieldBytesMax),
                  ">\r\n");
  absl::StrAppend(&out, "Subject: ",
                  any_failed ? "Undelivered Mail Returned to Sender"
                  : success  ? "Successful Mail Delivery Report"
                             : "Delayed Mail (still being retried)",
                  "\r\n");
  absl::StrAppend(&out, "Date: ", Rfc5322Date(request.now), "\r\n");
  absl::StrAppend(&out, "Message-ID: <dsn.", token, ".", absl::ToUnixMicros(request.now), "@", mta,
                  ">\r\n");
  // RFC 3834: an automatic reply, never to be answered automatically.
  absl::StrAppend(&out, "Auto-Submitted: auto-replied\r\n");
  absl::StrAppend(&out, "MIME-Version: 1.0\r\n");
  absl::StrAppend(&out, "Content-Type: multipart/report; report-type=delivery-status;\r\n",
                  "\tboundary=\"", boundary, "\"\r\n\r\n");

  // Part 1: for people.
  absl::StrAppend(&out, "--", boundary, "\r\n");
  absl::StrAppend(&out, "Content-Type: text/plain; charset=us-ascii\r\n\r\n");
  absl::StrAppend(&out, "This is the mail system at host ", mta, ".\r\n\r\n");
  absl::StrAppend(&out,
                  any_failed ? "Your message could not be delivered to one or more recipients.\r\n"
                  : success
                      ? "Your message was delivered or passed on, as you asked to be told.\r\n"
                      : "Your message has not been delivered yet; it will be retried.\r\n",
                  "\r\n");
  for (const DsnRecipient& r : request.recipients) {
    std::string line = absl::StrCat("<", SanitizeFieldText(r.final_recipient, kDsnFieldBytesMax),
                                    ">: ", ActionName(r.action));
    if (!r.diagnostic.empty()) {
      absl::StrAppend(&line, ": ", SanitizeFieldText(r.diagnostic, kDsnFieldBytesMax));
    }
    AppendStuffedLine(&out, line);
    if (!r.bounce_class.empty()) {
      AppendStuffedLine(&out,
                        absl::StrCat("    Bounce class: ", SanitizeFieldText(r.bounce_class, 64)));
    }
  }
  absl::StrAppend(&out, "\r\n");

  // Part 2: RFC 3464 delivery-status.
  absl::StrAppend(&out, "--", boundary, "\r\n");
  absl::StrAppend(&out, "Content-Type: message/delivery-status\r\n\r\n");
  absl::StrAppend(&out, "Reporting-MTA: dns; ", mta, "\r\n");
  // ENVID and ORCPT travel as xtext (RFC 3461 §4); the DSN carries them decoded.
  if (!request.envid.empty()) {
    absl::StrAppend(&out, "Original-Envelope-Id: ",
                    SanitizeFieldText(DecodeXtext(request.envid), kDsnFieldBytesMax), "\r\n");
  }
  absl::StrAppend(&out, "Arrival-Date: ", Rfc5322Date(request.arrival), "\r\n");
  for (const DsnRecipient& r : request.recipients) {
    absl::StrAppend(&out, "\r\n");
    if (!r.original_recipient.empty()) {
      const size_t semicolon = r.original_recipient.find(';');
      const std::string orcpt =
          semicolon == absl::string_view::npos
              ? DecodeXtext(r.original_recipient)
              : absl::StrCat(r.original_recipient.substr(0, semicolon), ";",
                             DecodeXtext(r.original_recipient.substr(semicolon + 1)));
      absl::StrAppend(&out, "Original-Recipient: ", SanitizeFieldText(orcpt, kDsnFieldBytesMax),
                      "\r\n");
    }
    absl::StrAppend(&out, "Final-Recipient: ", AddressField(r.final_recipient), "\r\n");
    absl::StrAppend(&out, "Action: ", ActionName(r.action), "\r\n");
    absl::StrAppend(&out, "Status: ", StatusFor(r), "\r\n");
    if (!r.remote_mta.empty()) {
      absl::StrAppend(&out, "Remote-MTA: dns; ", SanitizeFieldText(r.remote_mta, 255), "\r\n");
    }
    if (!r.diagnostic.empty()) {
      absl::StrAppend(&out, "Diagnostic-Code: smtp; ",
                      SanitizeFieldText(r.diagnostic, kDsnFieldBytesMax), "\r\n");
    }
    // RFC 3464 §3: an extension field (X- prefix) for what has no field of its own.
    if (!r.bounce_class.empty()) {
      absl::StrAppend(&out, "X-Tern-Bounce-Class: ", SanitizeFieldText(r.bounce_class, 64), "\r\n");
    }
    if (r.last_attempt != absl::InfinitePast()) {
      absl::StrAppend(&out, "Last-Attempt-Date: ", Rfc5322Date(r.last_attempt), "\r\n");
    }
  }
  absl::StrAppend(&out, "\r\n");

  // Part 3: the original message or its headers, already in stored (stuffed) form.
  absl::StrAppend(&out, "--", boundary, "\r\n");
  const bool full =
      request.return_full && request.original_message.size() <= kReturnedMessageBytesMax;
  absl::string_view returned =
      full ? request.original_message : HeaderSection(request.original_message);
  absl::StrAppend(&out, "Content-Type: ", full ? "message/rfc822" : "text/rfc822-headers",
                  "\r\n\r\n");
  out.append(returned.data(), returned.size());
  if (!returned.empty() &&
      returned.substr(returned.size() - std::min<size_t>(2, returned.size())) != "\r\n") {
    out.append("\r\n");
  }
  absl::StrAppend(&out, "\r\n--", boundary, "--\r\n");
  return out;
}

}  // namespace tern::delivery
