// Table tests of net/smtp/address.h: every RFC 5321 path form and each limit at +-1.
#include "net/smtp/address.h"

#include <string>

#include "gtest/gtest.h"

namespace tern::net::smtp {
namespace {

std::string Repeat(char c, size_t n) { return std::string(n, c); }

struct PathCase {
  std::string input;
  PathKind kind;
  bool smtputf8;
  PathError error;
  std::string address;  // expected when ok
  std::string local;
  std::string domain;
  std::string parameters;
};

constexpr PathKind kFrom = PathKind::kReversePath;
constexpr PathKind kTo = PathKind::kForwardPath;
constexpr PathError kOk = PathError::kNone;
constexpr PathError kCmd = PathError::kCommandSyntax;
constexpr PathError kAddr = PathError::kAddressSyntax;

std::vector<PathCase> Cases() {
  const std::string l64 = Repeat('l', 64);
  const std::string label63 = Repeat('d', 63);
  // 255 = 4 labels: 63+1+63+1+63+1+63 = 255
  const std::string d255 = label63 + "." + label63 + "." + label63 + "." + label63;
  const std::string d256 = "x" + d255;  // 64-char first label... invalid either way
  std::vector<PathCase> cases = {
      {"<a@b.example>", kTo, false, kOk, "a@b.example", "a", "b.example", ""},
      {" <a@b.example>", kTo, false, kOk, "a@b.example", "a", "b.example", ""},
      {"<a@b.example> SIZE=10 BODY=8BITMIME", kFrom, false, kOk, "a@b.example", "a", "b.example",
       "SIZE=10 BODY=8BITMIME"},
      {"<a@b.example>  SIZE=10  ", kFrom, false, kOk, "a@b.example", "a", "b.example", "SIZE=10"},
      {"<>", kFrom, false, kOk, "", "", "", ""},
      {"<> SIZE=1", kFrom, false, kOk, "", "", "", "SIZE=1"},
      {"<>", kTo, false, kAddr, "", "", "", ""},
      {"<postmaster>", kTo, false, kOk, "postmaster", "postmaster", "", ""},
      {"<PostMaster>", kTo, false, kOk, "PostMaster", "PostMaster", "", ""},
      {"<postmaster>", kFrom, false, kAddr, "", "", "", ""},
      {"<\"postmaster\">", kTo, false, kAddr, "", "", "", ""},
      {"<first.last+tag@Example.COM>", kTo, false, kOk, "first.last+tag@Example.COM",
       "first.last+tag", "Example.COM", ""},
      {"<!#$%&'*+-/=?^_`{|}~@x.y>", kTo, false, kOk, "!#$%&'*+-/=?^_`{|}~@x.y",
       "!#$%&'*+-/=?^_`{|}~", "x.y", ""},
      {"<\"john doe\"@x.example>", kTo, false, kOk, "john doe@x.example", "john doe", "x.example",
       ""},
      {"<\"a\\\"b\\\\c\"@x.example>", kTo, false, kOk, "a\"b\\c@x.example", "a\"b\\c", "x.example",
       ""},
      {"<\"a>b\"@x.example> SIZE=1", kTo, false, kOk, "a>b@x.example", "a>b", "x.example",
       "SIZE=1"},
      {"<\"\"@x.example>", kTo, false, kOk, "@x.example", "", "x.example", ""},
      {"<\"a@b\"@x.example>", kTo, false, kOk, "a@b@x.example", "a@b", "x.example", ""},
      {"<a@[192.0.2.1]>", kTo, false, kOk, "a@[192.0.2.1]", "a", "[192.0.2.1]", ""},
      {"<a@[IPv6:2001:db8::1]>", kTo, false, kOk, "a@[IPv6:2001:db8::1]", "a", "[IPv6:2001:db8::1]",
       ""},
      {"<a@[ipv6:::1]>", kTo, false, kOk, "a@[ipv6:::1]", "a", "[ipv6:::1]", ""},
      {"<@relay.example:a@b.example>", kTo, false, kOk, "a@b.example", "a", "b.example", ""},
      {"<@r1.example,@r2.example:a@b.example>", kTo, false, kOk, "a@b.example", "a", "b.example",
       ""},
      {"<a@b-c.example>", kTo, false, kOk, "a@b-c.example", "a", "b-c.example", ""},
      {"<a@1.2>", kTo, false, kOk, "a@1.2", "a", "1.2", ""},
      // Unicode, RFC 6531.
      {"<\xc3\xa9@b\xc3\xa9.example>", kTo, true, kOk, "\xc3\xa9@b\xc3\xa9.example", "\xc3\xa9",
       "b\xc3\xa9.example", ""},
      {"<a@b\xc3\xa9.example>", kTo, false, kAddr},
      {"<\xc3\xa9@b.example>", kTo, false, kAddr},
      {"<a@b\xc3.example>", kTo, true, kAddr},  // malformed UTF-8
      // Command syntax: no brackets.
      {"a@b.example", kTo, false, kCmd},
      {"", kTo, false, kCmd},
      {"  <a@b.example>", kTo, false, kCmd},
      {"<a@b.example>SIZE=1", kFrom, false, kCmd},
      // Address syntax.
      {"<a@b.example", kTo, false, kAddr},
      {"<a>", kTo, false, kAddr},
      {"<@b.example>", kTo, false, kAddr},
      {"<a@>", kTo, false, kAddr},
      {"<a@@b.example>", kTo, false, kAddr},
      {"<.a@b.example>", kTo, false, kAddr},
      {"<a.@b.example>", kTo, false, kAddr},
      {"<a..b@b.example>", kTo, false, kAddr},
      {"<a b@b.example>", kTo, false, kAddr},
      {"<a@-b.example>", kTo, false, kAddr},
      {"<a@b-.example>", kTo, false, kAddr},
      {"<a@b..example>", kTo, false, kAddr},
      {"<a@b.example.>", kTo, false, kAddr},
      {"<a@b_c.example>", kTo, false, kAddr},
      {"<a@[192.0.2.256]>", kTo, false, kAddr},
      {"<a@[2001:db8::1]>", kTo, false, kAddr},
      {"<a@[IPv6:2001:db8::g]>", kTo, false, kAddr},
      {"<a@[x-tag:stuff]>", kTo, false, kAddr},
      {"<a@[192.0.2.1>", kTo, false, kAddr},
      {"<\"unterminated@b.example>", kTo, false, kAddr},
      {"<\"a\\\x01\"@b.example>", kTo, false, kAddr},
      {"<\"a\x01\"@b.example>", kTo, false, kAddr},
      {"<@relay.example a@b.example>", kTo, false, kAddr},
      {"<@relay.example,a@b.example>", kTo, false, kAddr},
      {"<@:a@b.example>", kTo, false, kAddr},
      // Limits, RFC 5321 §4.5.3.1: local part 64, domain 255, label 63, path 256.
      {"<" + l64 + "@x.y>", kTo, false, kOk, l64 + "@x.y", l64, "x.y", ""},
      {"<" + l64 + "l@x.y>", kTo, false, kAddr},
      {"<\"" + Repeat('q', 62) + "\"@x.y>", kTo, false, kOk, Repeat('q', 62) + "@x.y",
       Repeat('q', 62), "x.y", ""},
      {"<\"" + Repeat('q', 63) + "\"@x.y>", kTo, false, kAddr},  // 65 with the quotes
      {"<a@" + label63 + ".x>", kTo, false, kOk, "a@" + label63 + ".x", "a", label63 + ".x", ""},
      {"<a@" + label63 + "d.x>", kTo, false, kAddr},
      // 255-byte domain: path is 1+1+1+255+1 = 259 > 256: domain ok, path too long.
      {"<a@" + d255 + ">", kTo, false, kAddr},
      {"<a@" + d256 + ">", kTo, false, kAddr},
  };
  // Path exactly 256 and 257 bytes: "<" + local + "@" + domain + ">".
  const std::string d250 = Repeat('a', 58) + "." + label63 + "." + label63 + "." + label63;
  {
    std::string local = Repeat('l', 256 - 3 - d250.size());  // 3 = '<' '@' '>'
    cases.push_back(
        {"<" + local + "@" + d250 + ">", kTo, false, kOk, local + "@" + d250, local, d250, ""});
    cases.push_back({"<" + local + "l@" + d250 + ">", kTo, false, kAddr});
  }
  return cases;
}

TEST(ParsePath, Table) {
  for (const PathCase& c : Cases()) {
    SCOPED_TRACE(c.input);
    std::string scratch;
    ParsedPath path = ParsePath(c.input, c.kind, c.smtputf8, &scratch);
    ASSERT_EQ(path.error, c.error);
    if (!path.ok()) continue;
    EXPECT_EQ(path.address, c.address);
    EXPECT_EQ(path.local_part, c.local);
    EXPECT_EQ(path.domain, c.domain);
    EXPECT_EQ(path.parameters, c.parameters);
    EXPECT_EQ(path.null_path, c.input.find("<>") == 0);
  }
}

TEST(ParsePath, UnquotedResultIsAViewIntoTheInput) {
  std::string input = "<a@b.example> SIZE=1";
  std::string scratch;
  ParsedPath path = ParsePath(input, kTo, false, &scratch);
  ASSERT_TRUE(path.ok());
  EXPECT_EQ(path.address.data(), input.data() + 1);
  EXPECT_TRUE(scratch.empty());
}

TEST(ParsePath, QuotedResultLivesInScratch) {
  std::string input = "<\"a b\"@c.example>";
  std::string scratch;
  ParsedPath path = ParsePath(input, kTo, false, &scratch);
  ASSERT_TRUE(path.ok());
  EXPECT_EQ(path.address.data(), scratch.data());
  EXPECT_EQ(scratch, "a b@c.example");
}

TEST(IsValidDomain, LengthLimits) {
  const std::string label63(63, 'd');
  const std::string d255 = label63 + "." + label63 + "." + label63 + "." + label63;
  EXPECT_TRUE(IsValidDomain(d255, false));
  EXPECT_FALSE(IsValidDomain(d255 + "x", false));
  EXPECT_FALSE(IsValidDomain("", false));
  EXPECT_TRUE(IsValidDomain("[IPv6:::1]", false));
}

}  // namespace
}  // namespace tern::net::smtp
