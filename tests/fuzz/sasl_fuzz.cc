// libFuzzer entry point for AUTH's response decoding (net/smtp/sasl.h): arbitrary base64
// (and not) as PLAIN and LOGIN responses. Must never crash, and what it accepts must be a
// valid identity and a password without CR, LF or NUL, within the bounds.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "net/smtp/sasl.h"

namespace {
bool Clean(const std::string& s) {
  return s.find_first_of(std::string("\r\n\0", 3)) == std::string::npos;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  tern::net::smtp::SaslCredentials credentials;
  if (tern::net::smtp::DecodePlain(text, &credentials) == tern::net::smtp::SaslError::kNone) {
    if (!tern::net::smtp::IsValidAuthIdentity(credentials.user) || !Clean(credentials.password) ||
        credentials.password.size() > tern::net::smtp::kAuthPasswordBytesMax) {
      __builtin_trap();
    }
  }
  std::string user;
  if (tern::net::smtp::DecodeLoginUser(text, &user) == tern::net::smtp::SaslError::kNone &&
      !tern::net::smtp::IsValidAuthIdentity(user)) {
    __builtin_trap();
  }
  std::string password;
  if (tern::net::smtp::DecodeLoginPassword(text, &password) == tern::net::smtp::SaslError::kNone &&
      !Clean(password)) {
    __builtin_trap();
  }
  return 0;
}
