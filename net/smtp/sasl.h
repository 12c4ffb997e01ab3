// SASL for SMTP AUTH (RFC 4954): the PLAIN (RFC 4616) and LOGIN mechanisms' client
// responses, decoded and checked. Identities and passwords with CR, LF or NUL are refused
// (they could forge log lines or headers), as is a PLAIN authorization identity other than
// the authentication identity (no proxy authorization).
//
//   SaslCredentials c;
//   if (DecodePlain("AHVzZXIAc2VjcmV0", &c) == SaslError::kNone) { c.user == "user" ... }
#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace tern::net::smtp {

inline constexpr size_t kAuthIdentityBytesMax = 255;
inline constexpr size_t kAuthPasswordBytesMax = 1024;

struct SaslCredentials {
  std::string user;
  std::string password;
};

enum class SaslError : uint8_t {
  kNone,
  kBadBase64,    // 501 5.5.2
  kBadFormat,    // PLAIN without its two NULs, or too long: 501 5.5.2
  kBadIdentity,  // CR/LF/NUL, empty, or authzid != authcid: 535 5.7.8
};

// The PLAIN response (base64 of authzid NUL authcid NUL password).
SaslError DecodePlain(absl::string_view base64, SaslCredentials* out);
// One LOGIN step (base64 of the user name, or of the password).
SaslError DecodeLoginUser(absl::string_view base64, std::string* user);
SaslError DecodeLoginPassword(absl::string_view base64, std::string* password);
// A user name as AUTH and the users file accept it: 1..kAuthIdentityBytesMax bytes, none of
// them CR, LF, NUL, ':' (the file's separator) or a space.
bool IsValidAuthIdentity(absl::string_view user);

}  // namespace tern::net::smtp
