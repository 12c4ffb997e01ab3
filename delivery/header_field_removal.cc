// Implementation of delivery/header_field_removal.h.
#include "delivery/header_field_removal.h"

#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "core/check.h"

namespace tern::delivery {
namespace {

// Whether `line` starts the field `name`: "name:" or "name WSP* :".
bool StartsField(absl::string_view line, absl::string_view name) {
  if (line.size() <= name.size() || !absl::StartsWithIgnoreCase(line, name)) return false;
  size_t i = name.size();
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  return i < line.size() && line[i] == ':';
}

// The length of the line at `at` including its CRLF (to `limit` when unterminated).
size_t LineLength(absl::string_view section, size_t at) {
  const size_t crlf = section.find("\r\n", at);
  return crlf == absl::string_view::npos ? section.size() - at : crlf + 2 - at;
}

}  // namespace

std::optional<std::string> RemoveHeaderField(core::ByteBuffer* buffer, size_t begin, size_t* end,
                                             absl::string_view name) {
  CHECK(!name.empty());
  CHECK_LE(begin, *end);
  CHECK_LE(*end, buffer->size());
  char* data = buffer->data();
  const absl::string_view section(data + begin, *end - begin);
  std::optional<std::string> first;
  size_t read = 0;   // in section
  size_t write = 0;  // in section: bytes kept so far
  while (read < section.size()) {
    // One field: its first line and the continuation lines (starting with WSP) after it.
    size_t field = LineLength(section, read);
    const absl::string_view first_line = section.substr(read, field);
    if (first_line == "\r\n") {
      field = section.size() - read;  // the empty line ends the header section
    } else {
      while (read + field < section.size() &&
             (section[read + field] == ' ' || section[read + field] == '\t')) {
        field += LineLength(section, read + field);
      }
    }
    if (first_line != "\r\n" && StartsField(first_line, name)) {
      if (!first.has_value()) {
        std::string value;
        absl::string_view raw = section.substr(read, field);
        raw.remove_prefix(raw.find(':') + 1);
        for (char c : raw) {
          if (c == '\r' || c == '\n') continue;
          if (value.size() >= kRemovedHeaderValueBytesMax) break;
          value.push_back(c);
        }
        first = std::string(absl::StripAsciiWhitespace(value));
      }
    } else if (write != read) {
      std::memmove(data + begin + write, data + begin + read, field);
      write += field;
    } else {
      write += field;
    }
    read += field;
  }
  CHECK_EQ(read, section.size());
  if (write != read) {
    const size_t removed = read - write;
    const size_t after = buffer->size() - *end;
    std::memmove(data + begin + write, data + *end, after);
    buffer->Truncate(buffer->size() - removed);
    *end -= removed;
  }
  return first;
}

}  // namespace tern::delivery
