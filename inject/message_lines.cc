// Implementation of inject/message_lines.h.
#include "inject/message_lines.h"

#include "absl/strings/str_cat.h"
#include "inject/header_encoding.h"

namespace tern::inject {

absl::Status CheckMessageLines(absl::string_view message) {
  size_t line = 1, length = 0;
  for (size_t i = 0; i < message.size(); ++i) {
    const char c = message[i];
    if (c == '\r') {
      if (i + 1 >= message.size() || message[i + 1] != '\n') {
        return absl::InvalidArgumentError(absl::StrCat("line ", line, ": CR without LF"));
      }
      ++i;
      ++line;
      length = 0;
      continue;
    }
    if (c == '\n') return absl::InvalidArgumentError(absl::StrCat("line ", line, ": LF alone"));
    if (c == '\0') return absl::InvalidArgumentError(absl::StrCat("line ", line, ": NUL byte"));
    if (++length > kLineBytesMax) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line, ": longer than ", kLineBytesMax, " octets"));
    }
  }
  return absl::OkStatus();
}

}  // namespace tern::inject
