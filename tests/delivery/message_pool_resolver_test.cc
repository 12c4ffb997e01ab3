// Tests of delivery/message_pool_resolver.h: header, then sender domain, then the user's
// pool, then the default; unknown pools refused.
#include "delivery/message_pool_resolver.h"

#include "gtest/gtest.h"

namespace tern::delivery {
namespace {

std::shared_ptr<const EgressConfig> Config(std::string default_pool = "",
                                           std::string header = "X-Tern-Pool") {
  EgressFlags flags;
  flags.sources = {"a=127.0.0.2", "b=127.0.0.3"};
  flags.pools = {"bulk=a", "trans=b", "auth=a:1,b:1"};
  flags.sender_pools = {"news.example.com=bulk"};
  flags.default_pool = default_pool;
  flags.pool_header = header;
  auto config = EgressConfig::Parse(flags);
  EXPECT_TRUE(config.ok()) << config.status();
  return *config;
}

struct Outcome {
  absl::StatusOr<absl::string_view> pool;
  std::string record;
};

Outcome Resolve(const MessagePoolResolver& resolver, absl::string_view headers,
                absl::string_view sender, absl::string_view auth_pool = "") {
  core::ByteBuffer record;
  record.Append("ENV");
  record.Append(headers);
  record.Append("body\r\n");
  size_t end = 3 + headers.size();
  Outcome out{resolver.Resolve(&record, 3, &end, sender, auth_pool), ""};
  out.record = std::string(record.view());
  return out;
}

TEST(MessagePoolResolver, HeaderWinsAndIsRemoved) {
  MessagePoolResolver resolver(Config("bulk"));
  ASSERT_TRUE(resolver.active());
  const Outcome o =
      Resolve(resolver, "Subject: s\r\nX-Tern-Pool: trans\r\n\r\n", "x@news.example.com", "auth");
  ASSERT_TRUE(o.pool.ok());
  EXPECT_EQ(*o.pool, "trans");
  EXPECT_EQ(o.record, "ENVSubject: s\r\n\r\nbody\r\n");
}

TEST(MessagePoolResolver, ThenSenderDomainThenUserThenDefault) {
  MessagePoolResolver resolver(Config("trans"));
  EXPECT_EQ(*Resolve(resolver, "\r\n", "x@NEWS.example.com", "auth").pool, "bulk");
  EXPECT_EQ(*Resolve(resolver, "\r\n", "x@example.com", "auth").pool, "auth");
  EXPECT_EQ(*Resolve(resolver, "\r\n", "x@example.com").pool, "trans");
  EXPECT_EQ(*Resolve(resolver, "\r\n", "").pool, "trans");  // the null sender too
  MessagePoolResolver no_default(Config());
  EXPECT_EQ(*Resolve(no_default, "\r\n", "x@example.com").pool, "");
}

TEST(MessagePoolResolver, UnknownPoolIsRefused) {
  MessagePoolResolver resolver(Config("bulk"));
  Outcome o = Resolve(resolver, "X-Tern-Pool: nope\r\n\r\n", "x@example.com");
  ASSERT_FALSE(o.pool.ok());
  EXPECT_EQ(o.pool.status().message(), "unknown egress pool \"nope\" (X-Tern-Pool)");
  o = Resolve(resolver, "X-Tern-Pool: \x01\"x\r\n\r\n", "x@example.com");
  EXPECT_EQ(o.pool.status().message(), "unknown egress pool \"??x\" (X-Tern-Pool)");
  o = Resolve(resolver, "\r\n", "x@example.com", "gone");
  EXPECT_EQ(o.pool.status().message(), "unknown egress pool \"gone\" (the user's pool)");
}

TEST(MessagePoolResolver, EmptyHeaderNameLooksAtNoHeader) {
  MessagePoolResolver resolver(Config("bulk", ""));
  const Outcome o = Resolve(resolver, "X-Tern-Pool: trans\r\n\r\n", "x@example.com");
  EXPECT_EQ(*o.pool, "bulk");
  EXPECT_EQ(o.record, "ENVX-Tern-Pool: trans\r\n\r\nbody\r\n");
}

TEST(MessagePoolResolver, InactiveWithoutPools) {
  EXPECT_FALSE(MessagePoolResolver(nullptr).active());
  auto empty = EgressConfig::Parse(EgressFlags{});
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(MessagePoolResolver(*empty).active());
}

}  // namespace
}  // namespace tern::delivery
