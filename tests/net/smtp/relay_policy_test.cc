// Table tests of net/smtp/relay_policy.h: CIDR matching, domain matching, the RCPT verdict.
#include "net/smtp/relay_policy.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

#include "gtest/gtest.h"

namespace tern::net::smtp {
namespace {

RelayPolicy MakePolicy() {
  absl::StatusOr<RelayPolicy> policy = RelayPolicy::FromFlags(
      "127.0.0.0/8, 192.0.2.128/25,198.51.100.7,::1/128,2001:db8:ab00::/40,0.0.0.0/32",
      "example.com,.sub.example.net,Mixed.Example.ORG");
  EXPECT_TRUE(policy.ok()) << policy.status();
  return *std::move(policy);
}

TEST(RelayPolicy, ClientMayRelayTable) {
  RelayPolicy policy = MakePolicy();
  struct Case {
    const char* address;
    bool may_relay;
  } cases[] = {
      {"127.0.0.1", true},
      {"127.255.255.255", true},
      {"128.0.0.1", false},
      {"192.0.2.128", true},
      {"192.0.2.255", true},
      {"192.0.2.127", false},
      {"198.51.100.7", true},
      {"198.51.100.8", false},
      {"::1", true},
      {"::2", false},
      {"2001:db8:ab00::1", true},
      {"2001:db8:abff:ffff::1", true},
      {"2001:db8:ac00::1", false},
      {"::ffff:127.0.0.1", true},
      {"::ffff:10.0.0.1", false},
      {"0.0.0.0", true},
      {"0.0.0.1", false},
      {"not an ip", false},
      {"", false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.address);
    EXPECT_EQ(policy.ClientMayRelay(c.address), c.may_relay);
  }
}

TEST(RelayPolicy, ClientMayRelayFromSockaddr) {
  RelayPolicy policy = MakePolicy();
  sockaddr_storage ss{};
  auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
  sin->sin_family = AF_INET;
  inet_pton(AF_INET, "127.0.0.2", &sin->sin_addr);
  EXPECT_TRUE(policy.ClientMayRelay(ss));
  inet_pton(AF_INET, "10.0.0.2", &sin->sin_addr);
  EXPECT_FALSE(policy.ClientMayRelay(ss));
  sockaddr_storage ss6{};
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss6);
  sin6->sin6_family = AF_INET6;
  inet_pton(AF_INET6, "2001:db8:ab12::9", &sin6->sin6_addr);
  EXPECT_TRUE(policy.ClientMayRelay(ss6));
  inet_pton(AF_INET6, "2001:db9::9", &sin6->sin6_addr);
  EXPECT_FALSE(policy.ClientMayRelay(ss6));
}

TEST(RelayPolicy, HostBitsAreIgnored) {
  absl::StatusOr<RelayPolicy> policy = RelayPolicy::FromFlags("10.1.2.3/8", "");
  ASSERT_TRUE(policy.ok());
  EXPECT_TRUE(policy->ClientMayRelay("10.200.0.1"));
}

TEST(RelayPolicy, ParseErrors) {
  for (const char* bad : {"10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/x", "10.0.0/8",
                          "example.com", "10.0.0.0/-1", "10.0.0.0/+8", "1.2.3.4/8/9"}) {
    SCOPED_TRACE(bad);
    absl::StatusOr<RelayPolicy> policy = RelayPolicy::FromFlags(bad, "");
    EXPECT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument);
  }
  for (const char* bad : {"-bad.example", "a..b", ".", "exa mple.com"}) {
    SCOPED_TRACE(bad);
    std::vector<std::string> domains = {bad};
    EXPECT_FALSE(RelayPolicy::Create({}, domains).ok());
  }
}

TEST(RelayPolicy, IsRelayDomainTable) {
  RelayPolicy policy = MakePolicy();
  struct Case {
    const char* domain;
    bool relay;
  } cases[] = {
      {"example.com", true},         {"EXAMPLE.com", true},
      {"a.example.com", false},      {"example.com.evil", false},
      {"sub.example.net", false},    {"a.sub.example.net", true},
      {"b.a.SUB.example.net", true}, {"asub.example.net", false},
      {"mixed.example.org", true},   {"", false},
      {"example.net", false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.domain);
    EXPECT_EQ(policy.IsRelayDomain(c.domain), c.relay);
  }
}

TEST(DecideRecipient, Table) {
  RelayPolicy policy = MakePolicy();
  constexpr auto kAccept = RecipientVerdict::kAccept;
  constexpr auto kDenied = RecipientVerdict::kRelayDenied;
  struct Case {
    bool may_relay;
    bool authenticated;
    const char* local;
    const char* domain;
    RecipientVerdict verdict;
  } cases[] = {
      {true, false, "a", "anywhere.example", kAccept},
      {false, true, "a", "anywhere.example", kAccept},
      {false, false, "a", "anywhere.example", kDenied},
      {false, false, "a", "example.com", kAccept},
      {false, false, "a%other.example", "example.com", kDenied},
      {false, false, "other.example!a", "example.com", kDenied},
      {false, false, "a@other.example", "example.com", kDenied},
      {true, false, "a%other.example", "example.com", kAccept},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.local) + "@" + c.domain);
    EXPECT_EQ(DecideRecipient(&policy, c.may_relay, c.authenticated, c.local, c.domain), c.verdict);
  }
  EXPECT_EQ(DecideRecipient(nullptr, false, false, "a", "example.com"), kDenied);
}

}  // namespace
}  // namespace tern::net::smtp
