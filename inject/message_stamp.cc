// Implementation of inject/message_stamp.h.
#include "inject/message_stamp.h"

#include <openssl/rand.h>

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "core/check.h"

namespace tern::inject {

std::string RandomHex(size_t bytes) {
  std::vector<unsigned char> random(bytes);
  // Failing to seed the generator is not an input error: nothing unique can be made.
  CHECK(RAND_bytes(random.data(), static_cast<int>(random.size())) == 1);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(random.data()), random.size()));
}

std::string NewMessageId(absl::string_view host) {
  return absl::StrCat("<", RandomHex(16), "@", host, ">");
}

std::string DateField(absl::Time time) {
  return absl::FormatTime("%a, %d %b %Y %H:%M:%S +0000", time, absl::UTCTimeZone());
}

}  // namespace tern::inject
