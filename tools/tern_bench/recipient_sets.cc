// BuildRecipientSets (recipient_sets.h).
#include "tools/tern_bench/recipient_sets.h"

#include "absl/strings/str_cat.h"

namespace tern::tools::tern_bench {

absl::StatusOr<std::vector<std::vector<std::string>>> BuildRecipientSets(absl::string_view to,
                                                                         uint32_t count,
                                                                         uint32_t domains) {
  const size_t at = to.rfind('@');
  if (at == absl::string_view::npos || at == 0 || at + 1 == to.size()) {
    return absl::InvalidArgumentError(absl::StrCat("--to=", to, ": want local@domain"));
  }
  if (count == 0 || count > kRecipientsMax) {
    return absl::InvalidArgumentError(absl::StrCat("--recipients: want 1..", kRecipientsMax));
  }
  if (domains == 0 || domains > kRecipientDomainsMax) {
    return absl::InvalidArgumentError(absl::StrCat("--to_domains: want 1..", kRecipientDomainsMax));
  }
  const absl::string_view local = to.substr(0, at);
  const absl::string_view domain = to.substr(at + 1);
  std::vector<std::vector<std::string>> sets(domains);
  for (uint32_t j = 0; j < domains; ++j) {
    const std::string at_domain =
        domains == 1 ? absl::StrCat("@", domain) : absl::StrCat("@d", j, ".", domain);
    sets[j].reserve(count);
    sets[j].push_back(absl::StrCat(local, at_domain));
    for (uint32_t i = 1; i < count; ++i) sets[j].push_back(absl::StrCat(local, "+", i, at_domain));
  }
  return sets;
}

}  // namespace tern::tools::tern_bench
