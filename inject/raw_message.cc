// Implementation of inject/raw_message.h.
#include "inject/raw_message.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/status_macros.h"
#include "inject/inject_request.h"
#include "inject/message_lines.h"
#include "inject/transfer_encoding.h"

namespace tern::inject {
namespace {

// Each line of a CRLF header section (without its blank line) is "name:" or a continuation.
absl::Status CheckHeaderSection(absl::string_view header, bool* has_date, bool* has_message_id) {
  size_t number = 0;
  for (absl::string_view line : absl::StrSplit(header, "\r\n")) {
    ++number;
    if (!line.empty() && (line[0] == ' ' || line[0] == '\t')) {
      if (number == 1) return absl::InvalidArgumentError("content: starts with a continuation");
      continue;
    }
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos || !IsHeaderFieldName(line.substr(0, colon))) {
      return absl::InvalidArgumentError(
          absl::StrCat("content: header line ", number, " is not a header field"));
    }
    const absl::string_view name = line.substr(0, colon);
    *has_date |= absl::EqualsIgnoreCase(name, "Date");
    *has_message_id |= absl::EqualsIgnoreCase(name, "Message-ID");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> BuildRawMessage(absl::string_view text_template,
                                            const SubstitutionValues& values, size_t bytes_max,
                                            absl::string_view message_id, absl::string_view date) {
  const std::string text = NormalizeLineEndings(text_template);
  const size_t blank = text.find("\r\n\r\n");
  if (absl::StartsWith(text, "\r\n") || blank == std::string::npos) {
    return absl::InvalidArgumentError(
        "content: no header fields followed by a blank line before the body");
  }
  std::string header;
  RETURN_IF_ERROR(ExpandTemplate(absl::string_view(text).substr(0, blank), values,
                                 Placement::kHeader, bytes_max, &header));
  bool has_date = false, has_message_id = false;
  RETURN_IF_ERROR(CheckHeaderSection(header, &has_date, &has_message_id));
  std::string body;
  RETURN_IF_ERROR(ExpandTemplate(absl::string_view(text).substr(blank + 4), values,
                                 Placement::kBody, bytes_max, &body));
  std::string message;
  if (!has_message_id) absl::StrAppend(&message, "Message-ID: ", message_id, "\r\n");
  if (!has_date) absl::StrAppend(&message, "Date: ", date, "\r\n");
  absl::StrAppend(&message, header, "\r\n\r\n", NormalizeLineEndings(body));
  // A message ends with a line break (SMTP DATA, the spool's framing).
  if (!absl::EndsWith(message, "\r\n")) message += "\r\n";
  if (message.size() > bytes_max) {
    return absl::ResourceExhaustedError(
        absl::StrCat("content: message longer than ", bytes_max, " bytes"));
  }
  if (absl::Status lines = CheckMessageLines(message); !lines.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("content: ", lines.message()));
  }
  return message;
}

}  // namespace tern::inject
