// The fields that make each built message unique and dated: a Message-ID of 128 random
// bits at the host's name (RFC 5322 §3.6.4), the Date in RFC 5322 §3.3 form, and random
// MIME boundaries.
//
//   out += "Message-ID: " + NewMessageId("relay.example.com") + "\r\n";
//   out += "Date: " + DateField(absl::Now()) + "\r\n";   // "Mon, 07 Dec 2026 22:00:11 +0000"
#pragma once

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace tern::inject {

// `bytes` random bytes (OpenSSL's generator) as lower-case hex.
std::string RandomHex(size_t bytes);

// "<32 hex digits@host>"; `host` must be a dot-atom (the plan checks its option).
std::string NewMessageId(absl::string_view host);

// RFC 5322 date-time in UTC.
std::string DateField(absl::Time time);

}  // namespace tern::inject
