// ReplyPattern: a remote reply reduced to its shape, so that identical failures group
// (`ternctl report`'s top errors, the status page's grouped deferrals and bounces). The
// leading reply code and enhanced status code are kept; what differs from one message to
// the next is collapsed: addresses become "<address>", queue ids and other tokens mixing
// letters and digits "<id>", remaining digit runs "#", whitespace runs one space.
//
//   ReplyPattern("450 4.2.0 <bob@example.com>: mailbox busy, try in 30 s (queue 4F3A2B1C)")
//     == "450 4.2.0 <address>: mailbox busy, try in # s (queue <id>)"
#pragma once

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace tern::delivery {

// Bytes of the reply looked at; the pattern is at most this long (plus "...").
inline constexpr size_t kReplyPatternBytesMax = 200;

std::string ReplyPattern(absl::string_view reply);

}  // namespace tern::delivery
