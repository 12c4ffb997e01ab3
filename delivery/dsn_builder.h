// DsnBuilder: composes a delivery status notification (RFC 3464, in an RFC 6522
// multipart/report) for the recipients of one message that failed, expired or are delayed.
// The result is a complete message (headers and body) in Tern's stored form: CRLF line
// endings and dot-stuffed, ready to be spooled from the null sender <> like any other mail.
//
// Remote replies are hostile input: every text that goes into a header or a status field
// is reduced to printable US-ASCII on one line and bounded.
//
//   DsnRequest request{.reporting_mta = "relay.example.com", .original_sender = "a@example.com",
//                      .arrival = received, .now = absl::Now(), .recipients = failed,
//                      .original_message = stored_body, .unique_token = "0100C5E5DC5DADF6"};
//   std::string dsn = BuildDsn(request);
#pragma once

#include <span>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace tern::delivery {

// RFC 3464 §2.3.3 Action values Tern reports.
// kRelayed: passed to a next hop that does not offer DSN (RFC 3461 §6.2.2), so no further
// notice will come.
enum class DsnAction { kFailed, kDelayed, kDelivered, kRelayed };

struct DsnRecipient {
  absl::string_view final_recipient;     // the address as delivered to ("local@domain")
  absl::string_view original_recipient;  // RFC 3461 ORCPT as given ("rfc822;a@b"), or empty
  DsnAction action = DsnAction::kFailed;
  absl::string_view status;        // enhanced status "5.1.1"; empty: derived from the action
  absl::string_view remote_mta;    // the MX host that answered, or empty
  absl::string_view diagnostic;    // the remote reply "550 5.1.1 no such user", or empty
  absl::string_view bounce_class;  // of a failure, "bad-mailbox" (delivery/bounce_class.h)
  absl::Time last_attempt = absl::InfinitePast();
};

struct DsnRequest {
  absl::string_view reporting_mta;    // this relay's host name
  absl::string_view original_sender;  // the failed message's envelope sender (the DSN's To)
  absl::string_view envid;            // RFC 3461 ENVID, or empty
  absl::Time arrival;
  absl::Time now;
  std::span<const DsnRecipient> recipients;
  // The failed message as stored (CRLF, dot-stuffed, headers then body).
  absl::string_view original_message;
  // RET=FULL: return the whole message (up to kReturnedMessageBytesMax); otherwise only its
  // header section.
  bool return_full = false;
  // Unique per DSN (e.g. the failed message's queue id): used in Message-ID and boundary.
  absl::string_view unique_token;
};

// Bounds on what a DSN carries.
inline constexpr size_t kReturnedMessageBytesMax = 256 * 1024;
inline constexpr size_t kDsnFieldBytesMax = 500;  // one status field's text

// The whole DSN message in stored form (ends with CRLF; no terminating ".").
std::string BuildDsn(const DsnRequest& request);

// The header section of a stored message (up to and including the empty line), or the
// whole message when it has no empty line.
absl::string_view HeaderSection(absl::string_view stored_message);

// Decodes RFC 3461 xtext ("+2B" -> '+'); a '+' not followed by two hex digits stays as is.
std::string DecodeXtext(absl::string_view xtext);

// `text` on one line of printable US-ASCII, at most `bytes_max` bytes (controls and CR/LF
// become spaces, other bytes '?').
std::string SanitizeFieldText(absl::string_view text, size_t bytes_max);

}  // namespace tern::delivery
