// ParseListenRange (listen_range.h).
#include "tools/tern_bench/listen_range.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace tern::tools::tern_bench {

absl::StatusOr<std::vector<net::SocketAddress>> ParseListenRange(absl::string_view spec) {
  const size_t colon = spec.rfind(':');
  const size_t dash = spec.rfind('-');
  if (colon == absl::string_view::npos || dash == absl::string_view::npos || dash < colon) {
    absl::StatusOr<net::SocketAddress> one = net::ParseSocketAddress(spec);
    if (!one.ok()) return one.status();
    return std::vector<net::SocketAddress>{*one};
  }
  uint32_t first = 0;
  uint32_t last = 0;
  if (!absl::SimpleAtoi(spec.substr(colon + 1, dash - colon - 1), &first) ||
      !absl::SimpleAtoi(spec.substr(dash + 1), &last) || first == 0 || last > 65535 ||
      first > last || last - first + 1 > kListenRangeMax) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", spec, "\": want HOST:FIRST-LAST, 1 <= FIRST <= LAST <= 65535, at most ",
                     kListenRangeMax, " ports"));
  }
  absl::StatusOr<net::SocketAddress> base =
      net::ParseSocketAddress(absl::StrCat(spec.substr(0, colon), ":", first));
  if (!base.ok()) return base.status();
  std::vector<net::SocketAddress> addresses;
  addresses.reserve(last - first + 1);
  for (uint32_t port = first; port <= last; ++port) {
    addresses.push_back(*base);
    addresses.back().set_port(static_cast<uint16_t>(port));
  }
  return addresses;
}

}  // namespace tern::tools::tern_bench
