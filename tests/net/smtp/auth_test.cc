// Tests of AUTH's pieces: SASL PLAIN/LOGIN decoding (net/smtp/sasl.h), scrypt hashes
// (password_hash.h), the users file (auth_users.h) and the checker thread with its
// per-address limit (password_checker.h).
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/escaping.h"
#include "core/loop.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "net/smtp/auth_users.h"
#include "net/smtp/password_checker.h"
#include "net/smtp/password_hash.h"
#include "net/smtp/sasl.h"
#include "tests/engine/test_engine.h"

namespace tern::net::smtp {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::string B64(absl::string_view raw) { return absl::Base64Escape(raw); }

TEST(Sasl, PlainDecodesAndRefusesBadIdentities) {
  SaslCredentials c;
  ASSERT_EQ(DecodePlain(B64(std::string("\0alice\0secret", 13)), &c), SaslError::kNone);
  EXPECT_EQ(c.user, "alice");
  EXPECT_EQ(c.password, "secret");
  ASSERT_EQ(DecodePlain(B64(std::string("alice\0alice\0pw", 14)), &c), SaslError::kNone);
  EXPECT_EQ(DecodePlain(B64(std::string("bob\0alice\0pw", 12)), &c), SaslError::kBadIdentity);
  EXPECT_EQ(DecodePlain(B64(std::string("\0al\rice\0pw", 10)), &c), SaslError::kBadIdentity);
  EXPECT_EQ(DecodePlain(B64(std::string("\0al\nice\0pw", 10)), &c), SaslError::kBadIdentity);
  EXPECT_EQ(DecodePlain(B64(std::string("\0alice\0p\nw", 10)), &c), SaslError::kBadIdentity);
  EXPECT_EQ(DecodePlain(B64(std::string("\0\0pw", 4)), &c), SaslError::kBadIdentity);
  EXPECT_EQ(DecodePlain(B64(std::string("\0alice\0", 7)), &c), SaslError::kBadIdentity);
  EXPECT_EQ(DecodePlain(B64("alice secret"), &c), SaslError::kBadFormat);
  EXPECT_EQ(DecodePlain("!!not base64!!", &c), SaslError::kBadBase64);
  EXPECT_EQ(DecodePlain(B64(std::string(5000, 'a')), &c), SaslError::kBadBase64);
}

TEST(Sasl, LoginSteps) {
  std::string user;
  std::string password;
  EXPECT_EQ(DecodeLoginUser(B64("bob"), &user), SaslError::kNone);
  EXPECT_EQ(user, "bob");
  EXPECT_EQ(DecodeLoginUser(B64("b:ob"), &user), SaslError::kBadIdentity);
  EXPECT_EQ(DecodeLoginUser("=", &user), SaslError::kBadIdentity);  // empty
  EXPECT_EQ(DecodeLoginPassword(B64("pw"), &password), SaslError::kNone);
  EXPECT_EQ(DecodeLoginPassword(B64(std::string("p\0w", 3)), &password), SaslError::kBadIdentity);
  EXPECT_EQ(DecodeLoginPassword("%%%", &password), SaslError::kBadBase64);
}

constexpr ScryptCost kCheap{.log2_n = 4, .r = 8, .p = 1};  // fast for tests

TEST(PasswordHash, VerifiesItsOwnHashesOnly) {
  auto hash = HashPassword("correct horse", kCheap);
  ASSERT_TRUE(hash.ok());
  EXPECT_EQ(hash->rfind("$scrypt$ln=4,r=8,p=1$", 0), 0u) << *hash;
  EXPECT_TRUE(*VerifyPassword("correct horse", *hash));
  EXPECT_FALSE(*VerifyPassword("correct horse ", *hash));
  EXPECT_NE(*HashPassword("correct horse", kCheap), *hash);  // salted
  for (const char* bad : {"", "$2y$10$abc", "$scrypt$ln=4,r=8$c2FsdA==$a2V5",
                          "$scrypt$ln=40,r=8,p=1$c2FsdA==$a2V5", "$scrypt$ln=4,r=8,p=1$!$!"}) {
    EXPECT_FALSE(VerifyPassword("x", bad).ok()) << bad;
    EXPECT_FALSE(CheckPasswordHash(bad).ok()) << bad;
  }
}

TEST(AuthUsers, ParsesVerifiesAndOwnsSenders) {
  const std::string alice = *HashPassword("a-pass", kCheap);
  const std::string bob = *HashPassword("b-pass", kCheap);
  auto users = AuthUsers::Parse("# accounts\n\nalice@example.com:" + alice + "\nbob:" + bob +
                                    ":bob@example.org, @Sales.Example.org\n",
                                "users");
  ASSERT_TRUE(users.ok()) << users.status();
  EXPECT_EQ((*users)->size(), 2u);
  EXPECT_TRUE((*users)->Verify("bob", "b-pass"));
  EXPECT_FALSE((*users)->Verify("bob", "a-pass"));
  EXPECT_FALSE((*users)->Verify("carol", "b-pass"));
  EXPECT_TRUE((*users)->OwnsSender("alice@example.com", "Alice@Example.com"));
  EXPECT_FALSE((*users)->OwnsSender("alice@example.com", "bob@example.org"));
  EXPECT_TRUE((*users)->OwnsSender("bob", "bob@example.org"));
  EXPECT_TRUE((*users)->OwnsSender("bob", "anyone@sales.example.org"));
  EXPECT_FALSE((*users)->OwnsSender("bob", "anyone@example.org"));
  EXPECT_FALSE((*users)->OwnsSender("carol", "carol"));
}

TEST(AuthUsers, PoolFieldAmongTheSenders) {
  const std::string hash = *HashPassword("x", kCheap);
  auto users = AuthUsers::Parse("news:" + hash + ":@news.example.com, pool=bulk\n" +
                                    "solo:" + hash + ":pool=trans\nplain:" + hash + "\n",
                                "users");
  ASSERT_TRUE(users.ok()) << users.status();
  EXPECT_EQ((*users)->PoolOf("news"), "bulk");
  EXPECT_EQ((*users)->PoolOf("solo"), "trans");
  EXPECT_EQ((*users)->PoolOf("plain"), "");
  EXPECT_EQ((*users)->PoolOf("nobody"), "");
  // The pool item is not a sender.
  EXPECT_TRUE((*users)->OwnsSender("news", "a@news.example.com"));
  EXPECT_FALSE((*users)->OwnsSender("news", "pool=bulk"));
  EXPECT_EQ((*users)->PoolNames(), (std::vector<std::string>{"bulk", "trans"}));
  EXPECT_EQ(AuthUsers::FindPoolNames("x:" + hash + ":pool=b\ny:" + hash + ":pool=a\n", "f"),
            (std::vector<std::string>{"a", "b"}));
  for (const char* bad : {"pool=", "pool=a,pool=b", "pool=a b"}) {
    const std::string text = "u:" + hash + ":" + bad + "\n";
    auto refused = AuthUsers::Parse(text, "users.txt");
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_NE(refused.status().message().find("users.txt:1: want at most one pool=NAME"),
              std::string::npos)
        << refused.status();
  }
}

TEST(AuthUsers, BadLinesAreNamed) {
  const std::string hash = *HashPassword("x", kCheap);
  for (const std::string& text :
       {std::string("alice\n"), "al ice:" + hash + "\n", std::string("alice:notahash\n"),
        "alice:" + hash + "\nalice:" + hash + "\n"}) {
    auto users = AuthUsers::Parse(text, "users.txt");
    ASSERT_FALSE(users.ok()) << text;
    EXPECT_NE(users.status().message().find("users.txt:"), std::string::npos) << users.status();
  }
}

TEST(AuthUsers, FindProblemsNamesEveryBadLineNotOnlyTheFirst) {
  const std::string hash = *HashPassword("x", kCheap);
  const std::string text = "# accounts\nalice:" + hash + "\nbob\n\nal ice:" + hash +
                           "\ncarol:notahash\nalice:" + hash + "\n";
  EXPECT_THAT(AuthUsers::FindProblems(text, "users.txt"),
              ElementsAre("users.txt:3: want user:hash[:senders]", "users.txt:5: bad user name",
                          HasSubstr("users.txt:6: "), "users.txt:7: user 'alice' listed twice"));
  EXPECT_THAT(AuthUsers::FindProblems("# none\n\nalice:" + hash + "\n", "users.txt"), IsEmpty());
  // Parse reports the first of them.
  auto users = AuthUsers::Parse(text, "users.txt");
  ASSERT_FALSE(users.ok());
  EXPECT_EQ(users.status().message(), "users.txt:3: want user:hash[:senders]");
}

TEST(PasswordChecker, AnswersOnTheLoopAndThrottlesPerAddress) {
  auto loop = engine::CreateLoop(tern::engine::testing::TestIoEngine());
  if (!loop.ok()) GTEST_SKIP() << loop.status();
  auto users = AuthUsers::Parse("bob:" + *HashPassword("pw", kCheap) + "\n", "users");
  ASSERT_TRUE(users.ok());
  PasswordChecker checker(*users, /*attempts_per_minute=*/3);
  LoopAuthBackend backend(&checker, loop->get());
  std::vector<AuthBackend::Result> results;
  const std::thread::id loop_thread = std::this_thread::get_id();
  auto record = [&](AuthBackend::Result r) {
    EXPECT_EQ(std::this_thread::get_id(), loop_thread);
    results.push_back(r);
    if (results.size() == 5) (*loop)->Stop();
  };
  backend.Check("192.0.2.1", "bob", "pw", record);
  backend.Check("192.0.2.1", "bob", "nope", record);
  backend.Check("192.0.2.1", "carol", "pw", record);
  backend.Check("192.0.2.1", "bob", "pw", record);  // the 4th this minute: throttled
  backend.Check("192.0.2.2", "bob", "pw", record);  // another address is not
  EXPECT_TRUE(results.empty());                     // never inside the call
  (*loop)->Run();
  ASSERT_EQ(results.size(), 5u);
  // The throttled answer comes at once, the checked ones in order afterwards.
  EXPECT_EQ(std::count(results.begin(), results.end(), AuthBackend::Result::kThrottled), 1);
  EXPECT_EQ(std::count(results.begin(), results.end(), AuthBackend::Result::kAccepted), 2);
  EXPECT_EQ(std::count(results.begin(), results.end(), AuthBackend::Result::kRejected), 2);
}

}  // namespace
}  // namespace tern::net::smtp
