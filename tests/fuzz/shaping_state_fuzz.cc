// libFuzzer entry point for the shaping state file decoder (queue/shaping_state_file.h): any
// bytes must decode to entries or to an error naming the line, never crash, hang or grow
// memory beyond the file's bounds. What decodes must survive encode → decode unchanged (a
// restart keeps every override exactly).
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "core/check.h"
#include "queue/shaping_state_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  const auto decoded = tern::queue::DecodeShapingState(text, "fuzz", now);
  if (!decoded.ok()) {
    CHECK(decoded.status().message().substr(0, 5) == "fuzz:");
    return 0;
  }
  CHECK_LE(decoded->size(), tern::queue::kShapingStateEntriesMax);
  const std::string encoded = tern::queue::EncodeShapingState(*decoded);
  const auto again = tern::queue::DecodeShapingState(encoded, "again", now);
  CHECK(again.ok());
  CHECK(*again == *decoded);
  return 0;
}
