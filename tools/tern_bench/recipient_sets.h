// The recipients `tern-bench source` sends to: --to, --recipients and --to_domains.
//
//   ASSIGN_OR_RETURN(auto sets, BuildRecipientSets("user@bench.test", /*count=*/2,
//                                                  /*domains=*/3));
//   // sets[0] = {user@d0.bench.test, user+1@d0.bench.test}, sets[1] = {..@d1.bench.test},
//   // sets[2] = {..@d2.bench.test}; message k goes to sets[k % 3].
//
// With domains == 1 there is one set, on --to's own domain: {user@bench.test, user+1@...}.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tern::tools::tern_bench {

inline constexpr uint32_t kRecipientsMax = 1000;
inline constexpr uint32_t kRecipientDomainsMax = 1000000;

// `domains` sets of `count` recipients each: local, local+1, ... local+(count-1) at `to`'s
// domain (domains == 1) or at dJ.<to's domain> for J in 0..domains-1. InvalidArgument for a
// `to` that is not local@domain, count outside 1..kRecipientsMax or domains outside
// 1..kRecipientDomainsMax.
absl::StatusOr<std::vector<std::vector<std::string>>> BuildRecipientSets(absl::string_view to,
                                                                         uint32_t count,
                                                                         uint32_t domains);

}  // namespace tern::tools::tern_bench
