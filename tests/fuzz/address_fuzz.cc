// libFuzzer entry point for the SMTP path parser (net/smtp/address.h): arbitrary MAIL FROM /
// RCPT TO arguments, as reverse- and forward-paths, with and without SMTPUTF8. Must never
// crash, and an accepted path's views must lie inside the input or the scratch string and
// respect the RFC 5321 bounds.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "net/smtp/address.h"

namespace {

bool Inside(absl::string_view part, absl::string_view a, absl::string_view b) {
  if (part.empty()) return true;
  auto in = [&](absl::string_view whole) {
    return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
  };
  return in(a) || in(b);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  for (auto kind :
       {tern::net::smtp::PathKind::kReversePath, tern::net::smtp::PathKind::kForwardPath}) {
    for (bool utf8 : {false, true}) {
      std::string scratch;
      tern::net::smtp::ParsedPath path = tern::net::smtp::ParsePath(text, kind, utf8, &scratch);
      if (path.error != tern::net::smtp::PathError::kNone) continue;
      if (!Inside(path.address, text, scratch) || !Inside(path.local_part, text, scratch) ||
          !Inside(path.domain, text, scratch) || !Inside(path.parameters, text, scratch)) {
        __builtin_trap();
      }
      if (path.address.size() > tern::net::smtp::kPathBytesMax) __builtin_trap();
    }
  }
  return 0;
}
