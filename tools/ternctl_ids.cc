// Implementation of tools/ternctl_ids.h.
#include "tools/ternctl_ids.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "net/http_query.h"

namespace tern::tools {
namespace {

constexpr size_t kQueueIdDigitsMax = 16;
constexpr absl::string_view kIdKey = "&id=";

bool IsQueueId(absl::string_view text) {
  if (text.empty() || text.size() > kQueueIdDigitsMax) return false;
  for (const char c : text) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// Appends the ids of `input`, one a line.
absl::Status ReadIds(FILE* input, std::vector<std::string>* ids) {
  // A line longer than this is no id; read it whole anyway to report it.
  static constexpr size_t kLineBytesMax = 256;
  char buffer[kLineBytesMax];
  size_t line_number = 0;
  std::string line;
  while (fgets(buffer, sizeof(buffer), input) != nullptr) {
    line += buffer;
    if (line.back() != '\n' && !feof(input)) {
      if (line.size() > kLineBytesMax) line.resize(kLineBytesMax);  // keep reading its tail
      continue;
    }
    ++line_number;
    const absl::string_view id = absl::StripAsciiWhitespace(line);
    if (!id.empty()) {
      if (!IsQueueId(id)) {
        return absl::InvalidArgumentError(absl::StrCat("standard input line ", line_number, ": '",
                                                       id.substr(0, 40), "' is not a queue id"));
      }
      if (ids->size() == kIdsMax) {
        return absl::InvalidArgumentError(
            absl::StrCat("more than ", kIdsMax, " ids: give fewer at a time"));
      }
      ids->emplace_back(id);
    }
    line.clear();
  }
  if (ferror(input)) return absl::UnavailableError("cannot read standard input");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ExpandIds(const std::vector<std::string>& args,
                                                   FILE* input) {
  std::vector<std::string> ids;
  bool input_read = false;
  for (const std::string& arg : args) {
    if (arg != "-") {
      if (ids.size() == kIdsMax) {
        return absl::InvalidArgumentError(absl::StrCat("more than ", kIdsMax, " ids"));
      }
      ids.push_back(arg);  // ternd checks it and names it if bad
      continue;
    }
    if (input_read) continue;  // standard input is read once
    input_read = true;
    if (absl::Status read = ReadIds(input, &ids); !read.ok()) return read;
  }
  return ids;
}

std::vector<std::vector<std::string>> BatchIds(const std::vector<std::string>& ids,
                                               size_t query_bytes_max) {
  std::vector<std::vector<std::string>> batches;
  size_t batch_bytes = 0;
  for (const std::string& id : ids) {
    const size_t bytes = kIdKey.size() + net::QueryEscape(id).size();
    if (batches.empty() || batch_bytes + bytes > query_bytes_max) {
      batches.emplace_back();
      batch_bytes = 0;
    }
    batches.back().push_back(id);
    batch_bytes += bytes;
  }
  return batches;
}

}  // namespace tern::tools
