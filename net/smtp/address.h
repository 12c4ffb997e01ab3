// RFC 5321 path parsing for MAIL FROM and RCPT TO, as views into the command line.
//
// ParsePath() takes what follows "FROM:" or "TO:" (one optional space before '<' is
// tolerated, as many clients send "MAIL FROM: <a@b>") and returns the address and the
// ESMTP parameters after '>'. Nothing is copied unless the local part is a quoted string:
// then the dequoted address is written into the caller's `scratch`, and the views point
// into it.
//
//   std::string scratch;
//   ParsedPath path = ParsePath(arg, PathKind::kForwardPath, /*smtputf8=*/false, &scratch);
//   if (!path.ok()) return Reply(path.error == PathError::kCommandSyntax ? ... : ...);
//   Use(path.address, path.parameters);
//
// Accepted forms (RFC 5321 §4.1.2): "<>" (reverse path only), "<Postmaster>" (forward path
// only, RFC 5321 §4.5.1), dot-string and quoted-string local parts, domains of LDH labels
// (plus UTF-8 labels and local parts when smtputf8, RFC 6531), address literals
// "[192.0.2.1]" and "[IPv6:2001:db8::1]", and source routes "<@a,@b:user@d>", which are
// parsed and ignored (RFC 5321 §4.1.1.3). Limits: RFC 5321 §4.5.3.1.
#pragma once

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace tern::net::smtp {

// RFC 5321 §4.5.3.1.1-3.
inline constexpr size_t kLocalPartBytesMax = 64;
inline constexpr size_t kDomainBytesMax = 255;
inline constexpr size_t kPathBytesMax = 256;        // including '<' and '>'
inline constexpr size_t kDomainLabelBytesMax = 63;  // RFC 1035 §2.3.4

enum class PathKind {
  kReversePath,  // MAIL FROM: "<>" allowed
  kForwardPath,  // RCPT TO: "<>" refused, "<postmaster>" without domain allowed
};

enum class PathError {
  kNone,
  kCommandSyntax,  // no "<...>" at all: reply 501 5.5.2
  kAddressSyntax,  // the address inside the brackets is bad or too long: 501 5.1.3
};

struct ParsedPath {
  PathError error = PathError::kNone;
  bool null_path = false;        // "<>"
  absl::string_view local_part;  // dequoted; empty for "<>"
  absl::string_view domain;      // empty for "<>" and "<postmaster>"
  absl::string_view address;     // "local@domain" dequoted; "" for "<>"; "postmaster"
  absl::string_view parameters;  // after '>' and its spaces; may be empty

  bool ok() const { return error == PathError::kNone; }
};

// Parses `text` (see above). `scratch` receives the dequoted address only when the local
// part is quoted; the returned views may point into `text` or `scratch`.
ParsedPath ParsePath(absl::string_view text, PathKind kind, bool smtputf8, std::string* scratch);

// True if `domain` is a valid RFC 5321 Domain (LDH labels; UTF-8 labels when smtputf8) or
// address literal. Exposed for EHLO checks and tests.
bool IsValidDomain(absl::string_view domain, bool smtputf8);

// The domain of a stored (dequoted) address: after its last '@'; empty without one.
inline absl::string_view DomainOf(absl::string_view address) {
  const size_t at = address.rfind('@');
  return at == absl::string_view::npos ? absl::string_view() : address.substr(at + 1);
}

}  // namespace tern::net::smtp
