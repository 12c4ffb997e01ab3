// JsonWriter: appends JSON text to a string, with correct string escaping (RFC 8259).
// Enough for the admin API; no parsing, no DOM.
//
//   JsonWriter json(&out);
//   json.BeginObject(); json.Key("id"); json.String(id); json.Key("size"); json.Number(n);
//   json.EndObject();
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace tern::core {

// Appends `text` as a quoted JSON string (control and non-UTF-8-safe bytes escaped).
void AppendJsonString(absl::string_view text, std::string* out);

class JsonWriter {
 public:
  explicit JsonWriter(std::string* out) : out_(out) {}
  void BeginObject();
  void EndObject();
  void BeginArray();
  void EndArray();
  void Key(absl::string_view key);
  void String(absl::string_view value);
  void Number(int64_t value);
  void Number(uint64_t value);
  void Bool(bool value);
  // Inserts already-encoded JSON (one value).
  void Raw(absl::string_view json);

 private:
  void BeforeValue();
  std::string* out_;
  std::vector<bool> first_;  // per open container: no element written yet
  bool after_key_ = false;
};

}  // namespace tern::core
