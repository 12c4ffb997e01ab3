// CommandLineReader: bounded command-line framing (command_line_reader.h).
#include "net/smtp/command_line_reader.h"

#include <cstring>

namespace tern::net::smtp {

CommandLineResult CommandLineReader::Consume(absl::string_view in, size_t* used) {
  line_ = absl::string_view();
  if (partial_is_line_) {  // the last line returned was assembled in partial_
    partial_.clear();
    partial_is_line_ = false;
  }
  const char* lf = static_cast<const char*>(std::memchr(in.data(), '\n', in.size()));
  if (lf == nullptr) {
    *used = in.size();
    if (skipping_) return CommandLineResult::kNeedMore;
    // With its LF still to come, the line would be longer than the limit.
    if (partial_.size() + in.size() >= kCommandLineBytesMax) {
      partial_.clear();
      skipping_ = true;
    } else {
      partial_.append(in.data(), in.size());
    }
    return CommandLineResult::kNeedMore;
  }
  const size_t before_lf = static_cast<size_t>(lf - in.data());
  *used = before_lf + 1;
  if (skipping_ || partial_.size() + *used > kCommandLineBytesMax) {
    skipping_ = false;
    partial_.clear();
    return CommandLineResult::kTooLong;
  }
  line_ = in.substr(0, before_lf);
  if (!partial_.empty()) {
    partial_.append(line_.data(), line_.size());
    line_ = partial_;
    partial_is_line_ = true;
  }
  return CommandLineResult::kLine;
}

void CommandLineReader::Reset() {
  partial_.clear();
  partial_is_line_ = false;
  skipping_ = false;
  line_ = absl::string_view();
}

}  // namespace tern::net::smtp
