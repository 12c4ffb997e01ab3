// Reading a few header fields of a stored message (CRLF, dot-stuffed) without parsing it
// all: the Message-ID for the delivery log, and the header section for bounces. Bounded: only
// the first kHeaderScanBytesMax bytes are looked at.
//
//   absl::string_view id = FindMessageId(body);  // "<abc@example.com>" or empty
#pragma once

#include "absl/strings/string_view.h"

namespace tern::delivery {

inline constexpr size_t kHeaderScanBytesMax = 64 * 1024;
inline constexpr size_t kMessageIdBytesMax = 998;

// The value of the first Message-ID header (RFC 5322 §3.6.4), trimmed, unfolded only if it
// fits on its first line; empty when there is none in the header section.
absl::string_view FindMessageId(absl::string_view stored_message);

}  // namespace tern::delivery
