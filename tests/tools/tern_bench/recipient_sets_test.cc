// BuildRecipientSets: --to, --recipients and --to_domains.
#include "tools/tern_bench/recipient_sets.h"

#include "gtest/gtest.h"

namespace tern::tools::tern_bench {
namespace {

using Sets = std::vector<std::vector<std::string>>;

TEST(RecipientSetsTest, OneDomainKeepsTheAddress) {
  absl::StatusOr<Sets> sets = BuildRecipientSets("user@example.net", 3, 1);
  ASSERT_TRUE(sets.ok()) << sets.status();
  EXPECT_EQ(*sets, (Sets{{"user@example.net", "user+1@example.net", "user+2@example.net"}}));
}

TEST(RecipientSetsTest, DomainsAreNumberedSubdomains) {
  absl::StatusOr<Sets> sets = BuildRecipientSets("u@bench.test", 2, 3);
  ASSERT_TRUE(sets.ok()) << sets.status();
  EXPECT_EQ(*sets, (Sets{{"u@d0.bench.test", "u+1@d0.bench.test"},
                         {"u@d1.bench.test", "u+1@d1.bench.test"},
                         {"u@d2.bench.test", "u+1@d2.bench.test"}}));
}

TEST(RecipientSetsTest, RejectsBadInput) {
  EXPECT_FALSE(BuildRecipientSets("no-at-sign", 1, 1).ok());
  EXPECT_FALSE(BuildRecipientSets("@domain", 1, 1).ok());
  EXPECT_FALSE(BuildRecipientSets("user@", 1, 1).ok());
  EXPECT_FALSE(BuildRecipientSets("u@d", 0, 1).ok());
  EXPECT_FALSE(BuildRecipientSets("u@d", kRecipientsMax + 1, 1).ok());
  EXPECT_FALSE(BuildRecipientSets("u@d", 1, 0).ok());
  EXPECT_FALSE(BuildRecipientSets("u@d", 1, kRecipientDomainsMax + 1).ok());
}

}  // namespace
}  // namespace tern::tools::tern_bench
