// The line rules every message Tern queues from the injection API keeps (RFC 5322 §2.1,
// §2.1.1): CRLF line endings only (no CR or LF alone, no NUL) and at most 998 octets per
// line, CRLF not counted.
//
//   RETURN_IF_ERROR(CheckMessageLines(message));
#pragma once

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace tern::inject {

// OK, or InvalidArgument naming the first offending line (1-based) and what is wrong.
absl::Status CheckMessageLines(absl::string_view message);

}  // namespace tern::inject
