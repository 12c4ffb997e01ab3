// Implementation of net/smtp/sasl.h.
#include "net/smtp/sasl.h"

#include "absl/strings/escaping.h"

namespace tern::net::smtp {
namespace {

// Base64 of at most `max_bytes` decoded bytes (RFC 4954: "=" alone is the empty response).
bool DecodeBase64(absl::string_view base64, size_t max_bytes, std::string* out) {
  if (base64.size() > (max_bytes + 2) / 3 * 4 + 4) return false;
  if (base64 == "=") {
    out->clear();
    return true;
  }
  return absl::Base64Unescape(base64, out) && out->size() <= max_bytes;
}

bool HasForbiddenByte(absl::string_view s) {
  return s.find_first_of(absl::string_view("\r\n\0", 3)) != absl::string_view::npos;
}

}  // namespace

bool IsValidAuthIdentity(absl::string_view user) {
  if (user.empty() || user.size() > kAuthIdentityBytesMax) return false;
  return user.find_first_of(absl::string_view("\r\n\0: ", 5)) == absl::string_view::npos;
}

SaslError DecodePlain(absl::string_view base64, SaslCredentials* out) {
  std::string decoded;
  if (!DecodeBase64(base64, 2 * kAuthIdentityBytesMax + kAuthPasswordBytesMax + 2, &decoded)) {
    return SaslError::kBadBase64;
  }
  const size_t first = decoded.find('\0');
  if (first == std::string::npos) return SaslError::kBadFormat;
  const size_t second = decoded.find('\0', first + 1);
  if (second == std::string::npos) return SaslError::kBadFormat;
  const absl::string_view all(decoded);
  const absl::string_view authzid = all.substr(0, first);
  const absl::string_view authcid = all.substr(first + 1, second - first - 1);
  const absl::string_view password = all.substr(second + 1);
  if (password.size() > kAuthPasswordBytesMax) return SaslError::kBadFormat;
  if (!IsValidAuthIdentity(authcid) || HasForbiddenByte(password) || password.empty()) {
    return SaslError::kBadIdentity;
  }
  if (!authzid.empty() && authzid != authcid) return SaslError::kBadIdentity;
  out->user.assign(authcid.data(), authcid.size());
  out->password.assign(password.data(), password.size());
  return SaslError::kNone;
}

SaslError DecodeLoginUser(absl::string_view base64, std::string* user) {
  if (!DecodeBase64(base64, kAuthIdentityBytesMax, user)) return SaslError::kBadBase64;
  return IsValidAuthIdentity(*user) ? SaslError::kNone : SaslError::kBadIdentity;
}

SaslError DecodeLoginPassword(absl::string_view base64, std::string* password) {
  if (!DecodeBase64(base64, kAuthPasswordBytesMax, password)) return SaslError::kBadBase64;
  return password->empty() || HasForbiddenByte(*password) ? SaslError::kBadIdentity
                                                          : SaslError::kNone;
}

}  // namespace tern::net::smtp
