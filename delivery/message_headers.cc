// Implementation of delivery/message_headers.h.
#include "delivery/message_headers.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "core/utf8.h"

namespace tern::delivery {

absl::string_view FindMessageId(absl::string_view stored_message) {
  absl::string_view rest = stored_message.substr(0, kHeaderScanBytesMax);
  while (!rest.empty()) {
    const size_t end = rest.find("\r\n");
    const absl::string_view line = rest.substr(0, end);
    if (line.empty()) return "";  // end of the header section
    if (absl::StartsWithIgnoreCase(line, "Message-ID:")) {
      absl::string_view value = absl::StripAsciiWhitespace(line.substr(11));
      return core::Utf8Prefix(value, kMessageIdBytesMax);
    }
    if (end == absl::string_view::npos) return "";
    rest.remove_prefix(end + 2);
  }
  return "";
}

}  // namespace tern::delivery
