// The query string of an admin request ("?domain=example.com&sender=a%40b"): decoding on
// ternd's side, encoding on ternctl's. Application/x-www-form-urlencoded rules: '+' is a
// space, %XX a byte; a malformed escape is kept as it is.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace tern::net {

using QueryParams = std::vector<std::pair<std::string, std::string>>;

QueryParams ParseQuery(absl::string_view query);
// The first value of `key`, or empty.
std::string QueryValue(const QueryParams& params, absl::string_view key);
bool HasQueryKey(const QueryParams& params, absl::string_view key);
// Every value of `key`, in order.
std::vector<std::string> QueryValues(const QueryParams& params, absl::string_view key);
// Escapes everything but unreserved characters (RFC 3986 §2.3).
std::string QueryEscape(absl::string_view value);

}  // namespace tern::net
