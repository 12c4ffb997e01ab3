// The shaping state file codec (queue/shaping_state_file.h): every malformed shape is an
// error naming file and line; bounds hold.
#include "queue/shaping_state_file.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace tern::queue {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);
constexpr char kHeader[] = "{\"tern_shaping_state\":1}\n";

std::string Entry(absl::string_view extra) {
  return absl::StrCat(R"({"source":"ip2","scope":"provider:google","kind":"set",)",
                      R"("until_unix_ms":1900000000000)", extra, "}\n");
}

TEST(ShapingStateFile, EmptyTextAndHeaderOnlyAreNoEntries) {
  EXPECT_TRUE(DecodeShapingState("", "f", kNow)->empty());
  EXPECT_TRUE(DecodeShapingState(kHeader, "f", kNow)->empty());
  EXPECT_EQ(EncodeShapingState({}), kHeader);
}

TEST(ShapingStateFile, MalformedInputNamesFileAndLine) {
  struct Case {
    std::string text;
    const char* error;
  };
  const Case cases[] = {
      {"{\"other\":1}\n", "state.jsonl:1: no {"},
      {"{\"tern_shaping_state\":2}\n", "state.jsonl:1: unknown format version"},
      {"[1,2]\n", "state.jsonl:1: no {"},
      {absl::StrCat(kHeader, "{nope\n"), "state.jsonl:2: not valid JSON"},
      {absl::StrCat(kHeader, "\n\n[]\n"), "state.jsonl:4: not a JSON object"},
      {absl::StrCat(kHeader, R"({"source":"","scope":"x","kind":"pause","until_unix_ms":1})", "\n"),
       "state.jsonl:2: kind: neither"},
      {absl::StrCat(kHeader, R"({"source":"","scope":"","kind":"set","until_unix_ms":1})", "\n"),
       "state.jsonl:2: scope: empty"},
      {absl::StrCat(kHeader, R"({"scope":"x","kind":"set","until_unix_ms":1})", "\n"),
       "state.jsonl:2: source: missing"},
      {absl::StrCat(kHeader, Entry(R"(,"options":{"connection_limit":0})")),
       "state.jsonl:2: options.connection_limit: out of range"},
      {absl::StrCat(kHeader, Entry(R"(,"options":{"max_message_rate":{"count":1,"period_ms":1}})")),
       "state.jsonl:2: options.max_message_rate.burst: missing"},
      {absl::StrCat(
           kHeader,
           Entry(R"(,"options":{"max_message_rate":{"count":1e3,"period_ms":1,"burst":1}})")),
       "count: not an integer"},
      {absl::StrCat(kHeader, Entry(R"(,"options":[])")), "options: not an object"},
      {absl::StrCat(kHeader, Entry(R"(,"ramp_up":{"steps":0,"over_ms":1})")),
       "ramp_up.steps: out of range"},
      {absl::StrCat(kHeader, Entry(R"(,"reason":7)")), "reason: not a string"},
      {absl::StrCat(kHeader, Entry(R"(,"until_unix_ms":18446744073709551615)")),
       "until_unix_ms: out of range"},
      {absl::StrCat(kHeader, std::string(kShapingStateLineBytesMax + 1, ' '), "\n"),
       "state.jsonl:2: line longer"},
  };
  for (const Case& c : cases) {
    const auto decoded = DecodeShapingState(c.text, "state.jsonl", kNow);
    ASSERT_FALSE(decoded.ok()) << c.text;
    EXPECT_NE(decoded.status().message().find(c.error), std::string::npos)
        << decoded.status() << " for " << c.text;
  }
}

TEST(ShapingStateFile, UnknownKeysAreIgnoredLastDuplicateWins) {
  const std::string text =
      absl::StrCat(kHeader, Entry(R"(,"future_key":{"a":[1]},"reason":"first")"),
                   Entry(R"(,"reason":"second")"));
  const auto decoded = DecodeShapingState(text, "f", kNow);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_EQ(decoded->size(), 2u);  // ShapingOverrides::LoadFrom keeps the last per key
  EXPECT_EQ((*decoded)[1].reason, "second");
}

// Found by the shaping_state fuzz target: a suspension carrying options (here through a
// duplicate "kind", the last winning) must decode as what encoding it gives back.
TEST(ShapingStateFile, ASuspensionHasNoOptionsAndRoundTrips) {
  const std::string text = absl::StrCat(
      kHeader, Entry(R"(,"options":{"connection_limit":2},"kind":"suspend","reason":"rule")"));
  const auto decoded = DecodeShapingState(text, "f", kNow);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_EQ(decoded->size(), 1u);
  EXPECT_EQ((*decoded)[0].kind, ShapingOverride::Kind::kSuspend);
  EXPECT_EQ((*decoded)[0].options, ShapingOptions{});
  const auto again = DecodeShapingState(EncodeShapingState(*decoded), "again", kNow);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, *decoded);
}

TEST(ShapingStateFile, TooManyEntriesIsAnError) {
  std::string text = kHeader;
  const std::string line = Entry("");
  text.reserve(line.size() * (kShapingStateEntriesMax + 2));
  for (size_t i = 0; i <= kShapingStateEntriesMax; ++i) text += line;
  const auto decoded = DecodeShapingState(text, "f", kNow);
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.status().message().find("more than"), std::string::npos);
}

}  // namespace
}  // namespace tern::queue
