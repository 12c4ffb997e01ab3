// libFuzzer entry point for DKIM's relaxed canonicalization (delivery/dkim_canonicalization.h)
// over arbitrary stored messages: SplitHeader's fields must be views inside the input and
// bounded in number, RelaxedHeader's output must hold no CR/LF but the final CRLF, and the
// body hash must not depend on how the body is split across Update() calls and must be the
// hash of what tests/delivery/relaxed_body_reference.h canonicalizes line by line.
#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "delivery/dkim_canonicalization.h"
#include "tests/delivery/relaxed_body_reference.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t split = data[0];
  const absl::string_view stored(reinterpret_cast<const char*>(data) + 1, size - 1);
  const auto fields = tern::delivery::SplitHeader(stored);
  if (fields.size() > tern::delivery::kHeaderFieldsMax) __builtin_trap();
  for (const auto& field : fields) {
    if (field.name.data() < stored.data() ||
        field.value.data() + field.value.size() > stored.data() + stored.size()) {
      __builtin_trap();
    }
    const std::string relaxed = tern::delivery::RelaxedHeader(field.name, field.value);
    const size_t crlf = relaxed.find_first_of("\r\n");
    if (crlf != relaxed.size() - 2) __builtin_trap();
  }
  const absl::string_view body = tern::delivery::BodyOf(stored);
  tern::delivery::RelaxedBodyHash whole;
  whole.Update(body);
  tern::delivery::RelaxedBodyHash pieces;
  const size_t step = split % 17 + 1;
  for (size_t i = 0; i < body.size(); i += step) pieces.Update(body.substr(i, step));
  const std::string hash = whole.Finish();
  if (hash != pieces.Finish()) __builtin_trap();
  const std::string reference = tern::delivery::ReferenceRelaxedBody(body);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_size = 0;
  EVP_Digest(reference.data(), reference.size(), digest, &digest_size, EVP_sha256(), nullptr);
  if (hash != std::string(reinterpret_cast<char*>(digest), digest_size)) __builtin_trap();
  return 0;
}
