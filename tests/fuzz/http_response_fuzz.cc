// libFuzzer entry point for the webhook receiver's response parser
// (events/http_response_parser.h): arbitrary bytes as a response, fed whole and split in
// three at points the first two bytes choose. Must never crash; the limits hold; and the
// split never changes the outcome (the parser is incremental).
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "events/http_response_parser.h"

namespace {

using tern::events::HttpResponseParser;

struct Outcome {
  HttpResponseParser::Result result;
  int status;
  bool keep_alive;
  std::string body;
  uint64_t body_bytes;
};

Outcome Parse(absl::string_view bytes, size_t first, size_t second, bool close_at_end) {
  HttpResponseParser parser;
  HttpResponseParser::Result result = HttpResponseParser::Result::kNeedMore;
  size_t fed = 0;
  for (absl::string_view part :
       {bytes.substr(0, first), bytes.substr(first, second - first), bytes.substr(second)}) {
    if (result != HttpResponseParser::Result::kNeedMore) break;
    result = parser.Feed(part);
    fed += part.size();
  }
  if (result == HttpResponseParser::Result::kNeedMore && close_at_end) {
    result = parser.FinishAtClose();
  }
  if (parser.consumed() > fed) __builtin_trap();
  if (parser.body().size() > HttpResponseParser::kBodyKeptBytesMax) __builtin_trap();
  if (parser.body_bytes() > HttpResponseParser::kBodyBytesMax) __builtin_trap();
  if (result == HttpResponseParser::Result::kError && parser.error().empty()) __builtin_trap();
  if (result == HttpResponseParser::Result::kDone &&
      (parser.status_code() < 200 || parser.status_code() > 999)) {
    __builtin_trap();
  }
  return {result, parser.status_code(), parser.keep_alive(), parser.body(), parser.body_bytes()};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const bool close_at_end = data[0] & 1;
  const absl::string_view bytes(reinterpret_cast<const char*>(data) + 2, size - 2);
  size_t first = bytes.empty() ? 0 : data[0] % (bytes.size() + 1);
  size_t second = bytes.empty() ? 0 : first + data[1] % (bytes.size() - first + 1);
  Outcome whole = Parse(bytes, bytes.size(), bytes.size(), close_at_end);
  Outcome split = Parse(bytes, first, second, close_at_end);
  if (whole.result != split.result) __builtin_trap();
  if (whole.result == HttpResponseParser::Result::kDone &&
      (whole.status != split.status || whole.keep_alive != split.keep_alive ||
       whole.body != split.body || whole.body_bytes != split.body_bytes)) {
    __builtin_trap();
  }
  return 0;
}
