// RemoveHeaderField: takes every occurrence of one header field out of a message's header
// section, in place, while the message is being received, and returns the first one's
// value. For the pool header (--pool_header): read at reception, never sent on.
//
//   size_t end = header_end;  // just past the empty line ending the header section
//   std::optional<std::string> pool = RemoveHeaderField(&record, body_begin, &end, "X-Tern-Pool");
//
// The section is CRLF lines (as stored: dot-stuffed, which no field name starting with a
// letter is affected by). Names match case-insensitively (RFC 5322 §1.2.2), with optional
// white space before the colon (§4.5, obsolete syntax); a field's continuation lines (§2.2.3)
// go with it. The bytes after `*end` (body already received) move up with the section; one
// pass over [begin, buffer end), nothing outside the header section is looked at.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "core/byte_buffer.h"

namespace tern::delivery {

// The first value is cut to this (a pool name is far shorter; the rest is of no use).
inline constexpr size_t kRemovedHeaderValueBytesMax = 256;

// Removes the fields named `name` from buffer[begin, *end) and sets *end to the section's
// new end. Returns the first removed field's value, unfolded (line breaks dropped) and
// trimmed, or nullopt when there was none.
std::optional<std::string> RemoveHeaderField(core::ByteBuffer* buffer, size_t begin, size_t* end,
                                             absl::string_view name);

}  // namespace tern::delivery
