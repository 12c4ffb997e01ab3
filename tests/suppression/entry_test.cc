// Entry normalisation (table tests): addresses and domains lowercased, "@domain" a domain,
// bad forms refused; scopes; reason names; ValidateEntry's limits.
#include "suppression/entry.h"

#include <string>

#include "gtest/gtest.h"

namespace tern::suppression {
namespace {

TEST(NormalizeTarget, Table) {
  struct Case {
    const char* in;
    bool ok;
    const char* text;
    bool is_domain;
  } cases[] = {
      {"user@example.com", true, "user@example.com", false},
      {"User@Example.COM", true, "user@example.com", false},
      {"Example.COM", true, "example.com", true},
      {"@Example.com", true, "example.com", true},
      {"\"a@b\"@example.com", true, "\"a@b\"@example.com", false},
      {"ÜSER@example.com", true, "Üser@example.com", false},  // only ASCII letters fold
      {"", false, "", false},
      {"@", false, "", false},
      {"user@", false, "", false},
      {"us er@example.com", false, "", false},
      {"user@exa\tmple.com", false, "", false},
      {"exa mple.com", false, "", false},
  };
  for (const Case& c : cases) {
    absl::StatusOr<Target> target = NormalizeTarget(c.in);
    EXPECT_EQ(target.ok(), c.ok) << c.in;
    if (!target.ok() || !c.ok) continue;
    EXPECT_EQ(target->text, c.text) << c.in;
    EXPECT_EQ(target->is_domain, c.is_domain) << c.in;
  }
}

TEST(NormalizeTarget, LengthLimits) {
  const std::string domain(kDomainBytesMax, 'd');
  EXPECT_TRUE(NormalizeTarget(domain).ok());
  EXPECT_FALSE(NormalizeTarget(domain + "d").ok());
  const std::string address = std::string(kAddressBytesMax - 12, 'u') + "@example.com";
  EXPECT_TRUE(NormalizeTarget(address).ok());
  EXPECT_FALSE(NormalizeTarget("u" + address).ok());
}

TEST(NormalizeScope, Table) {
  EXPECT_EQ(*NormalizeScope(""), "");
  EXPECT_EQ(*NormalizeScope("global"), "");
  EXPECT_EQ(*NormalizeScope("News.Example"), "news.example");
  EXPECT_EQ(*NormalizeScope("@news.example"), "news.example");
  EXPECT_FALSE(NormalizeScope("a@news.example").ok());
  EXPECT_FALSE(NormalizeScope("news example").ok());
}

TEST(Reason, NamesRoundTrip) {
  for (Reason r :
       {Reason::kHardBounce, Reason::kComplaint, Reason::kUnsubscribe, Reason::kManual}) {
    EXPECT_EQ(ParseReason(ReasonName(r)), r);
  }
  EXPECT_EQ(ReasonName(Reason::kHardBounce), "hard-bounce");
  EXPECT_FALSE(ParseReason("bounce").has_value());
}

TEST(ValidateEntry, RefusesWhatTheIndexCannotHold) {
  Entry e{"user@example.com", "", Reason::kManual, "x", 10, 0};
  EXPECT_TRUE(ValidateEntry(e).ok());
  Entry upper = e;
  upper.target = "User@example.com";
  EXPECT_FALSE(ValidateEntry(upper).ok()) << "not normalised";
  Entry global_word = e;
  global_word.scope = "global";
  EXPECT_FALSE(ValidateEntry(global_word).ok()) << "the global scope is written \"\"";
  Entry long_event = e;
  long_event.event = std::string(kEventBytesMax + 1, 'e');
  EXPECT_FALSE(ValidateEntry(long_event).ok());
  long_event.event.pop_back();
  EXPECT_TRUE(ValidateEntry(long_event).ok());
  Entry late = e;
  late.expires = kTimeMax + 1;
  EXPECT_FALSE(ValidateEntry(late).ok());
  Entry negative = e;
  negative.created = -1;
  EXPECT_FALSE(ValidateEntry(negative).ok());
  Entry bad_reason = e;
  bad_reason.reason = static_cast<Reason>(9);
  EXPECT_FALSE(ValidateEntry(bad_reason).ok());
}

}  // namespace
}  // namespace tern::suppression
