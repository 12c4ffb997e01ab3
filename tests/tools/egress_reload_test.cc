// Tests of SIGHUP's egress reload in tools/ternd/egress_flags.h (the flags read again from
// the command line and its flagfiles, through the same parser and bind check as at start)
// and of the shaping policy's consent to it (tools/ternd/shaping_setup.h).
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "queue/shaping_policy_file.h"
#include "tools/ternd/egress_flags.h"
#include "tools/ternd/shaping_setup.h"

namespace tern::tools::ternd {
namespace {

using ::testing::HasSubstr;

std::string WriteFile(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

// ternd's command line with one flagfile holding `lines`.
std::vector<std::string> WithFlagfile(const std::string& name, const std::string& lines) {
  return {"ternd", "--spool_dir=/nonexistent", "--flagfile=" + WriteFile(name, lines)};
}

TEST(EgressReloadTest, ReadsTheFlagsOfTheFlagfileAgain) {
  auto egress = ReadEgressReload(WithFlagfile("good.flags",
                                              "--egress_source=ip2=127.0.0.2@out2.test\n"
                                              "--egress_source=ip3=127.0.0.3\n"
                                              "--egress_pool=bulk=ip2:1\n"
                                              "--egress_pool=ip3:2\n"
                                              "--egress_pool=vip=ip3\n"
                                              "--default_pool=bulk\n"
                                              "--sender_pool=news.test=vip\n"));
  ASSERT_TRUE(egress.ok()) << egress.status();
  ASSERT_EQ((*egress)->sources().size(), 2u);
  EXPECT_EQ((*egress)->sources()[0].ehlo_name, "out2.test");
  ASSERT_EQ((*egress)->pools().size(), 2u);
  ASSERT_NE((*egress)->default_pool(), nullptr);
  EXPECT_EQ((*egress)->default_pool()->name, "bulk");
  EXPECT_EQ((*egress)->default_pool()->members.size(), 2u) << "both occurrences count";
  ASSERT_NE((*egress)->SenderPool("news.test"), nullptr);
  EXPECT_EQ((*egress)->SenderPool("news.test")->name, "vip");
  EXPECT_EQ((*egress)->pool_header(), "X-Tern-Pool") << "absent: the flag's default";
}

TEST(EgressReloadTest, AnEmptyPoolHeaderIsKeptEmpty) {
  auto egress = ReadEgressReload(WithFlagfile(
      "header.flags", "--egress_source=ip2=127.0.0.2\n--egress_pool=bulk=ip2\n--pool_header=\n"));
  ASSERT_TRUE(egress.ok()) << egress.status();
  EXPECT_EQ((*egress)->pool_header(), "");
}

TEST(EgressReloadTest, WithoutEgressFlagsThereAreNoPools) {
  auto egress = ReadEgressReload({"ternd", "--shards=1"});
  ASSERT_TRUE(egress.ok()) << egress.status();
  EXPECT_TRUE((*egress)->no_pools());
  EXPECT_TRUE((*egress)->sources().empty());
}

TEST(EgressReloadTest, BadFlagsAreRefusedNamingTheFlag) {
  struct Case {
    const char* name;
    const char* lines;
    const char* expected;
  };
  const Case cases[] = {
      {"pool of an unknown source", "--egress_source=ip2=127.0.0.2\n--egress_pool=bulk=ip7\n",
       "--egress_pool=bulk=ip7: "},
      {"default pool unknown",
       "--egress_source=ip2=127.0.0.2\n--egress_pool=bulk=ip2\n"
       "--default_pool=nope\n",
       "--default_pool=nope: "},
      {"bad address", "--egress_source=ip2=127.0.0.300\n", "--egress_source=ip2=127.0.0.300"},
      // 192.0.2.0/24 (TEST-NET-1, RFC 5737) is on no host: the bind check refuses it.
      {"source not on this host", "--egress_source=ip9=192.0.2.7\n",
       "--egress_source=ip9=192.0.2.7: "},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto egress = ReadEgressReload(WithFlagfile("bad.flags", c.lines));
    ASSERT_FALSE(egress.ok());
    EXPECT_TRUE(absl::IsInvalidArgument(egress.status())) << egress.status();
    EXPECT_THAT(egress.status().message(), HasSubstr(c.expected));
  }
}

TEST(EgressReloadTest, AnUnreadableFlagfileIsRefusedNamingIt) {
  auto egress = ReadEgressReload({"ternd", "--flagfile=/nonexistent/ternd.flags"});
  ASSERT_FALSE(egress.ok());
  EXPECT_THAT(egress.status().message(), HasSubstr("/nonexistent/ternd.flags"));
}

// The shaping policy after a SIGHUP must name only sources the new flags define: the file
// read again, or else the running policy that stays.
TEST(EgressReloadTest, TheShapingPolicyInForceMustKeepItsSources) {
  auto with_ip2 = BuildEgressConfig({.sources = {"ip2=127.0.0.2"}, .pools = {"bulk=ip2"}});
  auto with_ip3 = BuildEgressConfig({.sources = {"ip3=127.0.0.3"}, .pools = {"bulk=ip3"}});
  ASSERT_TRUE(with_ip2.ok() && with_ip3.ok());
  const std::string names_ip2 = WriteFile("ip2.toml", "[source.ip2]\nmax_message_rate = \"5/s\"\n");
  auto running = queue::LoadShapingPolicy(names_ip2);
  ASSERT_TRUE(running.ok()) << running.status();

  EXPECT_TRUE(CheckShapingKeepsEgressSources("", *running, **with_ip3).ok()) << "no file";
  EXPECT_TRUE(CheckShapingKeepsEgressSources(names_ip2, *running, **with_ip2).ok());
  const absl::Status refused = CheckShapingKeepsEgressSources(names_ip2, *running, **with_ip3);
  EXPECT_TRUE(absl::IsInvalidArgument(refused)) << refused;
  EXPECT_THAT(refused.message(), HasSubstr("source.ip2"));
  // The file edited along with the flags: it replaces the running policy, which may then
  // name the old source.
  const std::string names_ip3 = WriteFile("ip3.toml", "[source.ip3]\nmax_message_rate = \"5/s\"\n");
  EXPECT_TRUE(CheckShapingKeepsEgressSources(names_ip3, *running, **with_ip3).ok());
  // A running policy without source blocks fits any sources, whatever the file says.
  const std::string plain = WriteFile("plain.toml", "[default]\nconnection_limit = 5\n");
  auto plain_policy = queue::LoadShapingPolicy(plain);
  ASSERT_TRUE(plain_policy.ok());
  EXPECT_TRUE(CheckShapingKeepsEgressSources(names_ip2, *plain_policy, **with_ip3).ok());
}

}  // namespace
}  // namespace tern::tools::ternd
