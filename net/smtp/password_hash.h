// Password hashes for authenticated submission: scrypt (RFC 7914, OpenSSL's EVP_PBE_scrypt)
// with a random 16-byte salt, stored as one printable token:
//
//   $scrypt$ln=14,r=8,p=1$<salt, base64>$<32-byte key, base64>
//
//   std::string stored = *HashPassword("secret");                 // ternctl passwd
//   bool ok = *VerifyPassword("secret", stored);                   // constant-time compare
//
// Verifying costs what hashing costs (~16 MiB and tens of milliseconds at ln=14): never on a
// shard's loop (see PasswordChecker).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tern::net::smtp {

struct ScryptCost {
  int log2_n = 14;  // N = 2^log2_n
  int r = 8;
  int p = 1;
};

absl::StatusOr<std::string> HashPassword(absl::string_view password, ScryptCost cost = {});
// InvalidArgument when `stored` is not a hash this understands.
absl::StatusOr<bool> VerifyPassword(absl::string_view password, absl::string_view stored);
// The same check of the format alone (cheap: no key derivation).
absl::Status CheckPasswordHash(absl::string_view stored);

}  // namespace tern::net::smtp
