// Tests of delivery/tls_policy_table.h: levels, exact and parent-domain matches, errors.
#include "delivery/tls_policy_table.h"

#include "gtest/gtest.h"

namespace tern::delivery {
namespace {

using net::smtp::StartTlsPolicy;

TEST(TlsPolicyTable, DefaultAppliesWithoutAnEntry) {
  auto table = TlsPolicyTable::Create("opportunistic", {});
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->Lookup("example.com"), StartTlsPolicy::kOpportunistic);
  auto off = TlsPolicyTable::Create("off", {});
  ASSERT_TRUE(off.ok());
  EXPECT_EQ(off->Lookup("example.com"), StartTlsPolicy::kNever);
}

TEST(TlsPolicyTable, ExactBeforeParentsLongestParentFirst) {
  auto table = TlsPolicyTable::Create("opportunistic", {"bank.example=required, .example=off",
                                                        ".a.example=required", "127.0.0.1=off"});
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->Lookup("BANK.example"), StartTlsPolicy::kRequired);
  EXPECT_EQ(table->Lookup("mx.example"), StartTlsPolicy::kNever);
  EXPECT_EQ(table->Lookup("x.a.example"), StartTlsPolicy::kRequired);
  EXPECT_EQ(table->Lookup("example"), StartTlsPolicy::kOpportunistic);  // .example: subdomains
  EXPECT_EQ(table->Lookup("127.0.0.1"), StartTlsPolicy::kNever);
}

TEST(TlsPolicyTable, BadEntriesAreNamed) {
  for (const char* bad : {"example.com", "=required", "example.com=maybe", ".=off"}) {
    auto table = TlsPolicyTable::Create("opportunistic", {bad});
    ASSERT_FALSE(table.ok()) << bad;
    EXPECT_NE(table.status().message().find(bad), std::string::npos) << table.status();
  }
  EXPECT_FALSE(TlsPolicyTable::Create("encrypt", {}).ok());
}

}  // namespace
}  // namespace tern::delivery
