// Tests of inject/substitution.h: placeholder syntax, precedence, missing keys, header
// placement and the output bound.
#include "inject/substitution.h"

#include <string>

#include "gtest/gtest.h"

namespace tern::inject {
namespace {

std::string Expand(absl::string_view text, const StringPairs& request,
                   const StringPairs& recipient = {}, Placement placement = Placement::kBody) {
  const SubstitutionValues values(request, recipient);
  std::string out;
  const absl::Status status = ExpandTemplate(text, values, placement, 1 << 20, &out);
  EXPECT_TRUE(status.ok()) << status;
  return out;
}

TEST(Substitution, SpacesInsideBracesAreOptional) {
  const StringPairs v = {{"first", "Ann"}};
  EXPECT_EQ(Expand("Hi {{first}}!", v), "Hi Ann!");
  EXPECT_EQ(Expand("Hi {{ first }}!", v), "Hi Ann!");
  EXPECT_EQ(Expand("Hi {{   first}}!", v), "Hi Ann!");
}

TEST(Substitution, RecipientValueOverridesRequestValue) {
  EXPECT_EQ(Expand("{{a}}/{{b}}", {{"a", "req"}, {"b", "B"}}, {{"a", "rcpt"}}), "rcpt/B");
}

TEST(Substitution, MissingKeyBecomesEmpty) { EXPECT_EQ(Expand("[{{ nope }}]", {}), "[]"); }

TEST(Substitution, MalformedPlaceholdersStayLiteral) {
  const StringPairs v = {{"a", "X"}};
  for (const char* text : {"{{", "{{}}", "{{ }}", "{{a b}}", "{{a}", "{ {a}}", "{{a!}}", "}}"}) {
    EXPECT_EQ(Expand(text, v), text);
  }
  EXPECT_EQ(Expand("{{{a}}}", v), "{X}");
  EXPECT_EQ(Expand("{{ {{a}}", v), "{{ X");
}

TEST(Substitution, ValuesAreNotExpandedAgain) {
  EXPECT_EQ(Expand("{{a}}", {{"a", "{{b}}"}, {"b", "no"}}), "{{b}}");
}

TEST(Substitution, NamesMayHoldDotsDashesUnderscores) {
  EXPECT_EQ(Expand("{{user.first_name-x}}", {{"user.first_name-x", "v"}}), "v");
}

TEST(Substitution, HeaderPlacementTurnsControlCharactersIntoSpaces) {
  EXPECT_EQ(Expand("S: {{a}}", {{"a", "x\r\nBcc: y@z\n\x01\tq"}}, {}, Placement::kHeader),
            "S: x  Bcc: y@z  \tq");
  EXPECT_EQ(Expand("{{a}}", {{"a", "x\r\ny"}}), "x\r\ny");  // bodies keep them
}

TEST(Substitution, OutputIsBounded) {
  // 1 KiB of template with many placeholders of 1 KiB values: stops at the bound.
  std::string text;
  while (text.size() < 1024) text += "{{v}}";
  // The values are views: the pairs must outlive them.
  const StringPairs request = {{"v", std::string(1024, 'x')}};
  const SubstitutionValues values(request, {});
  std::string out;
  const absl::Status status = ExpandTemplate(text, values, Placement::kBody, 64 * 1024, &out);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_LE(out.size(), 64u * 1024);
  out.clear();
  EXPECT_EQ(ExpandTemplate(text, values, Placement::kHeader, 64 * 1024, &out).code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_LE(out.size(), 64u * 1024);
}

TEST(Substitution, BoundCountsLiteralText) {
  const SubstitutionValues values({}, {});
  std::string out;
  EXPECT_FALSE(ExpandTemplate("12345", values, Placement::kBody, 4, &out).ok());
  out.clear();
  EXPECT_TRUE(ExpandTemplate("1234", values, Placement::kBody, 4, &out).ok());
  EXPECT_EQ(out, "1234");
}

}  // namespace
}  // namespace tern::inject
