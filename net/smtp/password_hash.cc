// Implementation of net/smtp/password_hash.h.
#include "net/smtp/password_hash.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace tern::net::smtp {
namespace {

constexpr size_t kSaltBytes = 16;
constexpr size_t kKeyBytes = 32;
// Bounds on what a stored hash may ask for (a hostile users file must not exhaust memory).
constexpr int kLog2NMax = 20;
constexpr int kRMax = 32;
constexpr int kPMax = 16;

absl::StatusOr<std::string> Derive(absl::string_view password, absl::string_view salt,
                                   const ScryptCost& cost) {
  std::string key(kKeyBytes, '\0');
  const uint64_t n = uint64_t{1} << cost.log2_n;
  // scrypt needs 128 * r * N bytes (plus p * 128 * r): allow exactly that and a margin.
  const uint64_t max_mem = 128ull * cost.r * (n + cost.p + 2) + (1 << 20);
  if (EVP_PBE_scrypt(password.data(), password.size(),
                     reinterpret_cast<const unsigned char*>(salt.data()), salt.size(), n,
                     static_cast<uint64_t>(cost.r), static_cast<uint64_t>(cost.p), max_mem,
                     reinterpret_cast<unsigned char*>(key.data()), key.size()) != 1) {
    return absl::InternalError("scrypt failed");
  }
  return key;
}

struct ParsedHash {
  ScryptCost cost;
  std::string salt;
  std::string key;
};

absl::StatusOr<ParsedHash> ParseHash(absl::string_view stored) {
  const std::vector<absl::string_view> parts = absl::StrSplit(stored, '$');
  // "", "scrypt", "ln=..,r=..,p=..", salt, key
  if (parts.size() != 5 || !parts[0].empty() || parts[1] != "scrypt") {
    return absl::InvalidArgumentError("not a $scrypt$ hash");
  }
  ScryptCost cost;
  int seen = 0;
  for (absl::string_view field : absl::StrSplit(parts[2], ',')) {
    const auto [name, value] = std::pair<absl::string_view, absl::string_view>(
        absl::StrSplit(field, absl::MaxSplits('=', 1)));
    int number = 0;
    if (!absl::SimpleAtoi(value, &number) || number < 1) {
      return absl::InvalidArgumentError(absl::StrCat("bad scrypt parameter '", field, "'"));
    }
    if (name == "ln") {
      cost.log2_n = number;
    } else if (name == "r") {
      cost.r = number;
    } else if (name == "p") {
      cost.p = number;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown scrypt parameter '", field, "'"));
    }
    ++seen;
  }
  if (seen != 3 || cost.log2_n > kLog2NMax || cost.r > kRMax || cost.p > kPMax) {
    return absl::InvalidArgumentError("scrypt parameters missing or beyond the bounds");
  }
  ParsedHash parsed;
  parsed.cost = cost;
  if (!absl::Base64Unescape(parts[3], &parsed.salt) ||
      !absl::Base64Unescape(parts[4], &parsed.key) || parsed.salt.empty() ||
      parsed.key.size() != kKeyBytes) {
    return absl::InvalidArgumentError("bad salt or key in scrypt hash");
  }
  return parsed;
}

}  // namespace

absl::StatusOr<std::string> HashPassword(absl::string_view password, ScryptCost cost) {
  std::string salt(kSaltBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(salt.data()), salt.size()) != 1) {
    return absl::InternalError("RAND_bytes failed");
  }
  absl::StatusOr<std::string> key = Derive(password, salt, cost);
  if (!key.ok()) return key.status();
  return absl::StrCat("$scrypt$ln=", cost.log2_n, ",r=", cost.r, ",p=", cost.p, "$",
                      absl::Base64Escape(salt), "$", absl::Base64Escape(*key));
}

absl::Status CheckPasswordHash(absl::string_view stored) { return ParseHash(stored).status(); }

absl::StatusOr<bool> VerifyPassword(absl::string_view password, absl::string_view stored) {
  absl::StatusOr<ParsedHash> parsed = ParseHash(stored);
  if (!parsed.ok()) return parsed.status();
  absl::StatusOr<std::string> key = Derive(password, parsed->salt, parsed->cost);
  if (!key.ok()) return key.status();
  return CRYPTO_memcmp(key->data(), parsed->key.data(), kKeyBytes) == 0;
}

}  // namespace tern::net::smtp
