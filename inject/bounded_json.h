// A JSON document parsed with bounds, for request bodies from the network: nesting depth,
// number of values and duplicate keys are checked while parsing (SAX events), so a hostile
// "[[[[..." or a body of a million tiny values is refused before it costs memory, and no
// exception ever leaves the parser (a malformed document, invalid UTF-8 or a number out of
// range is an InvalidArgument Status naming the byte offset).
//
//   ASSIGN_OR_RETURN(nlohmann::json document,
//                    ParseBoundedJson(body, {.depth_max = 16, .values_max = 100'000}));
//
// Duplicate keys in one object are refused: which of the two a client meant is not ours to
// guess (RFC 8259 §4 leaves it undefined).
#pragma once

#include <cstddef>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace tern::inject {

struct JsonBounds {
  size_t depth_max = 16;  // arrays and objects open at once
  size_t values_max = 500'000;
};

absl::StatusOr<nlohmann::json> ParseBoundedJson(absl::string_view text, const JsonBounds& bounds);

}  // namespace tern::inject
