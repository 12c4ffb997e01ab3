// libFuzzer entry point for the JSON writer (core/json_writer.h): the input is read as a
// program of nested objects and arrays whose keys and string values are arbitrary bytes.
// The output must be strict JSON (nlohmann-json's parser: RFC 8259, UTF-8 only), and the
// strings it reports, in order, must be the written ones as the writer promises to encode
// them: well-formed UTF-8 unchanged, any other byte as its Latin-1 reading.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/check.h"
#include "core/json_writer.h"
#include "nlohmann/json.hpp"
#include "tests/core/hostile_text.h"

namespace {

constexpr size_t kDepthMax = 32;

// Records keys and strings in document order; any parse error is a finding.
class StringCollector : public nlohmann::json_sax<nlohmann::json> {
 public:
  std::vector<std::string> strings;
  bool failed = false;

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t& value) override {
    strings.push_back(value);
    return true;
  }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t& value) override {
    strings.push_back(value);
    return true;
  }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    failed = true;
    return false;
  }
};

// The next piece of the input: one length byte, then up to that many bytes.
absl::string_view TakePiece(absl::string_view* in) {
  if (in->empty()) return {};
  const size_t n = std::min<size_t>(static_cast<unsigned char>((*in)[0]), in->size() - 1);
  const absl::string_view piece = in->substr(1, n);
  in->remove_prefix(1 + n);
  return piece;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view in(reinterpret_cast<const char*>(data), size);
  std::string out;
  tern::core::JsonWriter json(&out);
  std::vector<bool> open_is_object;  // the open containers, innermost last
  std::vector<std::string> expected;
  json.BeginArray();
  open_is_object.push_back(false);
  while (!in.empty()) {
    const unsigned op = static_cast<unsigned char>(in[0]) % 5;
    in.remove_prefix(1);
    if (op == 4) {  // close the innermost container (never the outermost array)
      if (open_is_object.size() > 1) {
        if (open_is_object.back()) {
          json.EndObject();
        } else {
          json.EndArray();
        }
        open_is_object.pop_back();
      }
      continue;
    }
    if (open_is_object.back()) {  // a value in an object needs its key first
      const absl::string_view key = TakePiece(&in);
      json.Key(key);
      expected.push_back(tern::core::testing::Latin1Reading(key));
    }
    if (op == 0 || open_is_object.size() >= kDepthMax) {
      const absl::string_view value = TakePiece(&in);
      json.String(value);
      expected.push_back(tern::core::testing::Latin1Reading(value));
    } else if (op == 1) {
      json.BeginObject();
      open_is_object.push_back(true);
    } else if (op == 2) {
      json.BeginArray();
      open_is_object.push_back(false);
    } else {
      json.Number(static_cast<int64_t>(in.size()) - 100);
    }
  }
  while (!open_is_object.empty()) {
    if (open_is_object.back()) {
      json.EndObject();
    } else {
      json.EndArray();
    }
    open_is_object.pop_back();
  }
  CHECK(nlohmann::json::accept(out));
  StringCollector collector;
  nlohmann::json::sax_parse(out, &collector, nlohmann::json::input_format_t::json,
                            /*strict=*/true);
  CHECK(!collector.failed);
  CHECK(collector.strings == expected);
  return 0;
}
