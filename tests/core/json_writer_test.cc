// Tests of core/json_writer.h: structure, string escaping, and strict JSON for any bytes.
#include "core/json_writer.h"

#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/core/hostile_text.h"

namespace tern::core {
namespace {

TEST(JsonWriter, ObjectsArraysAndEscapes) {
  std::string out;
  JsonWriter json(&out);
  json.BeginObject();
  json.Key("id");
  json.String("a\"b\\c\n\x01");
  json.Key("n");
  json.Number(int64_t{-3});
  json.Key("list");
  json.BeginArray();
  json.Number(uint64_t{1});
  json.Bool(true);
  json.BeginObject();
  json.EndObject();
  json.EndArray();
  json.EndObject();
  EXPECT_EQ(out, R"({"id":"a\"b\\c\n\u0001","n":-3,"list":[1,true,{}]})");
}

TEST(AppendJsonString, WellFormedUtf8IsCopied) {
  std::string out;
  AppendJsonString("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xe2\x80\xa8", &out);
  EXPECT_EQ(out, "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xe2\x80\xa8\"");
}

TEST(AppendJsonString, InvalidUtf8IsEscapedAsLatin1) {
  struct Case {
    absl::string_view bytes;
    absl::string_view json;
  };
  static constexpr Case kCases[] = {
      {"550 5.7.1 bad \xfc\xff byte", R"("550 5.7.1 bad \u00fc\u00ff byte")"},
      {"\x80", R"("\u0080")"},                                // stray continuation
      {"\xc0\xaf", R"("\u00c0\u00af")"},                      // overlong '/'
      {"\xe0\x80\xaf", R"("\u00e0\u0080\u00af")"},            // overlong 3-byte
      {"\xed\xa0\x80", R"("\u00ed\u00a0\u0080")"},            // surrogate U+D800
      {"\xf4\x90\x80\x80", R"("\u00f4\u0090\u0080\u0080")"},  // above U+10FFFF
      {"\xf5", R"("\u00f5")"},
      {"ab\xe2\x82", R"("ab\u00e2\u0082")"},    // truncated at the end
      {"\xe2\x82x", R"("\u00e2\u0082x")"},      // truncated in the middle
      {"\xc3\xa9\xc3", "\"\xc3\xa9\\u00c3\""},  // valid, then a lone lead byte
      {absl::string_view("\0\x1f\x7f", 3), R"("\u0000\u001f\u007f")"},
  };
  for (const Case& c : kCases) {
    std::string out;
    AppendJsonString(c.bytes, &out);
    EXPECT_EQ(out, c.json) << absl::CHexEscape(c.bytes);
    const std::optional<nlohmann::json> parsed = testing::ParseStrictJson(out);
    ASSERT_TRUE(parsed.has_value()) << out;
    EXPECT_EQ(parsed->get<std::string>(), testing::Latin1Reading(c.bytes));
  }
}

TEST(AppendJsonString, EveryByteValueGivesStrictJson) {
  const std::string all = testing::AllByteValues();
  // Each byte alone, at every offset of an ASCII run (the 8-byte fast path's edges), and all.
  for (int b = 0; b < 256; ++b) {
    for (size_t at = 0; at < 17; ++at) {
      std::string text(17, 'x');
      text[at] = static_cast<char>(b);
      std::string out;
      AppendJsonString(text, &out);
      const std::optional<nlohmann::json> parsed = testing::ParseStrictJson(out);
      ASSERT_TRUE(parsed.has_value()) << b << " at " << at << ": " << out;
      ASSERT_EQ(parsed->get<std::string>(), testing::Latin1Reading(text)) << b;
    }
  }
  std::string out;
  AppendJsonString(all, &out);
  const std::optional<nlohmann::json> parsed = testing::ParseStrictJson(out);
  ASSERT_TRUE(parsed.has_value()) << out;
  EXPECT_EQ(parsed->get<std::string>(), testing::Latin1Reading(all));
}

// Random hostile strings as keys and values of nested objects and arrays: the output always
// parses strictly, and each string decodes to its bytes' reading.
TEST(JsonWriter, RandomBytesAsKeysAndValuesGiveStrictJson) {
  std::mt19937_64 rng(2026);
  for (int iteration = 0; iteration < 5000; ++iteration) {
    std::vector<std::string> values;
    std::string out;
    JsonWriter json(&out);
    json.BeginArray();
    const int objects = 1 + static_cast<int>(rng() % 4);
    for (int o = 0; o < objects; ++o) {
      json.BeginObject();
      // Keys are made unique by a prefix (a JSON object may not keep duplicates).
      const std::string key = absl::StrCat(o, ":", testing::HostileText(rng, 24));
      const std::string value = testing::HostileText(rng, 200);
      json.Key(key);
      json.String(value);
      json.Key("nested");
      json.BeginArray();
      json.String(value);
      json.Number(int64_t{-1});
      json.EndArray();
      json.EndObject();
      values.push_back(key);
      values.push_back(value);
    }
    json.EndArray();
    const std::optional<nlohmann::json> parsed = testing::ParseStrictJson(out);
    ASSERT_TRUE(parsed.has_value()) << absl::CHexEscape(out);
    ASSERT_EQ(parsed->size(), static_cast<size_t>(objects));
    for (int o = 0; o < objects; ++o) {
      const nlohmann::json& object = (*parsed)[o];
      const std::string key = testing::Latin1Reading(values[2 * o]);
      const std::string value = testing::Latin1Reading(values[2 * o + 1]);
      ASSERT_TRUE(object.contains(key)) << absl::CHexEscape(out);
      ASSERT_EQ(object[key].get<std::string>(), value);
      ASSERT_EQ(object["nested"][0].get<std::string>(), value);
    }
  }
}

}  // namespace
}  // namespace tern::core
