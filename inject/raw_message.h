// A message from the client's own RFC 5322 text (`"content": "<text>"`): substitutions
// applied (values in the header section cannot add a line: their CR and LF become spaces),
// LF or CR alone turned into CRLF, a blank line between header and body required, every
// header line a field or its continuation, every line within 998 octets. A Message-ID and
// a Date field are added at the top when the text has none (RFC 5322 §3.6 requires a Date),
// and a last CRLF when the text does not end with one.
//
//   ASSIGN_OR_RETURN(std::string message,
//       BuildRawMessage(request.raw_content, values, limits.message_bytes_max,
//                       NewMessageId(host), DateField(now)));
#pragma once

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "inject/substitution.h"

namespace tern::inject {

absl::StatusOr<std::string> BuildRawMessage(absl::string_view text_template,
                                            const SubstitutionValues& values, size_t bytes_max,
                                            absl::string_view message_id, absl::string_view date);

}  // namespace tern::inject
