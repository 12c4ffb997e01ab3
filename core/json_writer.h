// JsonWriter: appends JSON text to a string, with correct string escaping (RFC 8259).
// Enough for the admin API and the delivery log; no parsing, no DOM.
//
// Strings are bytes from the network (remote replies, Message-IDs, headers, addresses) and
// need not be UTF-8, while JSON text must be (RFC 8259 §8.1). Well-formed UTF-8 (RFC 3629,
// see core/utf8.h) is copied unchanged; every byte that is not part of a well-formed
// character is written as \u00XX, the byte's Latin-1 reading: "550 bad \xfc" becomes
// "550 bad \u00fc" ("550 bad ü"). So the output is always valid JSON, the Latin-1 text of
// legacy servers reads right, and the original bytes can be recovered from the JSON text
// (a \u0080-\u00ff escape is always one raw byte: well-formed characters are never escaped).
// Control characters and DEL are escaped too; U+2028/U+2029 are not (valid JSON; the output is not
// meant to be pasted into JavaScript).
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

// Appends `text` as a quoted JSON string: '"', '\\' and control bytes escaped, well-formed
// UTF-8 copied, any other byte written as \u00XX (its Latin-1 reading). A tight loop that
// copies runs of plain bytes at once, 8 ASCII bytes per step.
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
