// Implementation of inject/bounded_json.h: a SAX handler that builds the DOM itself, so that
// it can stop at the first event past a bound (nlohmann's own DOM builder cannot be told to).
#include "inject/bounded_json.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "inject/echoed_text.h"

namespace tern::inject {
namespace {

using Json = nlohmann::json;

class BoundedDomBuilder {
 public:
  explicit BoundedDomBuilder(const JsonBounds& bounds) : bounds_(bounds) {}

  bool null() { return Add(Json(nullptr)) != nullptr; }
  bool boolean(bool value) { return Add(Json(value)) != nullptr; }
  bool number_integer(Json::number_integer_t value) { return Add(Json(value)) != nullptr; }
  bool number_unsigned(Json::number_unsigned_t value) { return Add(Json(value)) != nullptr; }
  bool number_float(Json::number_float_t value, const Json::string_t&) {
    return Add(Json(value)) != nullptr;
  }
  bool string(Json::string_t& value) { return Add(Json(std::move(value))) != nullptr; }
  bool binary(Json::binary_t&) { return Fail("binary values are not JSON"); }
  bool start_object(std::size_t) { return Open(Json::object()); }
  bool start_array(std::size_t) { return Open(Json::array()); }
  bool end_object() { return Close(); }
  bool end_array() { return Close(); }
  bool key(Json::string_t& name) {
    if (open_.back()->contains(name))
      return Fail(absl::StrCat("duplicate key \"", EchoedText(name), "\""));
    key_ = std::move(name);
    return true;
  }
  bool parse_error(std::size_t offset, const std::string&, const nlohmann::detail::exception& e) {
    // e.what() reads "[json.exception.parse_error.101] parse error at line 1, column 2: ...".
    std::string what = e.what();
    const size_t bracket = what.find("] ");
    if (bracket != std::string::npos) what.erase(0, bracket + 2);
    // Its "last read" token is client text of any length: bounded.
    error_ = absl::StrCat("invalid JSON at byte ", offset, ": ", EchoedText(what, 200));
    return false;
  }

  Json TakeRoot() { return std::move(root_); }
  const std::string& error() const { return error_; }

 private:
  // Places a value where the document is (the root, the open array's end, or the open
  // object's pending key) and returns it, or nullptr past the value bound.
  Json* Add(Json value) {
    if (++values_ > bounds_.values_max) {
      Fail(absl::StrCat("more than ", bounds_.values_max, " JSON values"));
      return nullptr;
    }
    if (open_.empty()) {
      root_ = std::move(value);
      return &root_;
    }
    Json* parent = open_.back();
    if (parent->is_array()) {
      parent->push_back(std::move(value));
      return &parent->back();
    }
    Json& slot = (*parent)[key_];
    slot = std::move(value);
    return &slot;
  }
  bool Open(Json container) {
    if (open_.size() >= bounds_.depth_max) {
      return Fail(absl::StrCat("JSON nested deeper than ", bounds_.depth_max, " levels"));
    }
    Json* placed = Add(std::move(container));
    if (placed == nullptr) return false;
    // Pointers into an array stay valid while it is open: only its last element is ever
    // open below it, and nothing is appended to it until that element is closed.
    open_.push_back(placed);
    return true;
  }
  bool Close() {
    open_.pop_back();
    return true;
  }
  bool Fail(std::string error) {
    if (error_.empty()) error_ = std::move(error);
    return false;
  }

  const JsonBounds bounds_;
  Json root_;
  std::vector<Json*> open_;
  std::string key_;
  size_t values_ = 0;
  std::string error_;
};

}  // namespace

absl::StatusOr<nlohmann::json> ParseBoundedJson(absl::string_view text, const JsonBounds& bounds) {
  BoundedDomBuilder builder(bounds);
  const bool ok = Json::sax_parse(text.begin(), text.end(), &builder, Json::input_format_t::json,
                                  /*strict=*/true);
  if (!ok) {
    return absl::InvalidArgumentError(builder.error().empty() ? "invalid JSON" : builder.error());
  }
  return builder.TakeRoot();
}

}  // namespace tern::inject
