// Tests of core/json_writer.h: structure and string escaping.
#include "core/json_writer.h"

#include "gtest/gtest.h"

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

}  // namespace
}  // namespace tern::core
