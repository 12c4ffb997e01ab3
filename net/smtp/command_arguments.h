// Parsers of SMTP command arguments that every server-side session needs the same way
// (Tern's SmtpSession and tern-bench's sink).
#pragma once

#include <cstdint>

#include "absl/strings/string_view.h"

namespace tern::net::smtp {

// A decimal count (SIZE=, a BDAT chunk size): 1 to 20 ASCII digits that fit in 64 bits.
bool ParseDecimalCount(absl::string_view text, uint64_t* value);

// RFC 3030 §3: the argument of "BDAT" SP chunk-size [ SP "LAST" ] (LAST in any case).
// False for anything else: a missing or bad count, another end marker, extra words.
bool ParseBdatArgument(absl::string_view arg, uint64_t* size, bool* last);

}  // namespace tern::net::smtp
