// Shared SMTP command-argument parsers (command_arguments.h).
#include "net/smtp/command_arguments.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"

namespace tern::net::smtp {

bool ParseDecimalCount(absl::string_view text, uint64_t* value) {
  if (text.empty() || text.size() > 20) return false;
  for (char c : text) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return absl::SimpleAtoi(text, value);
}

bool ParseBdatArgument(absl::string_view arg, uint64_t* size, bool* last) {
  const size_t space = arg.find(' ');
  *last = false;
  if (space == absl::string_view::npos) return ParseDecimalCount(arg, size);
  if (!absl::EqualsIgnoreCase(arg.substr(space + 1), "LAST")) return false;
  *last = true;
  return ParseDecimalCount(arg.substr(0, space), size);
}

}  // namespace tern::net::smtp
