// libFuzzer entry point for the admin endpoint's request-head parser
// (net/http_request_head.h): arbitrary bytes as a request. Must never crash; a parsed head
// must lie inside the input and within the limits, and an error must carry its status.
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "net/http_request_head.h"

namespace {

bool Inside(absl::string_view part, absl::string_view whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  tern::net::HttpRequestHead head;
  switch (tern::net::ParseHttpRequestHead(bytes, &head)) {
    case tern::net::HttpHeadParse::kNeedMore:
      if (size >= tern::net::kHttpHeadBytesMax) __builtin_trap();
      break;
    case tern::net::HttpHeadParse::kError:
      if (head.error_status < 400 || head.error.empty()) __builtin_trap();
      break;
    case tern::net::HttpHeadParse::kDone:
      if (head.head_bytes > size || head.head_bytes > tern::net::kHttpHeadBytesMax) {
        __builtin_trap();
      }
      if (head.fields.size() > tern::net::kHttpHeaderFieldsMax) __builtin_trap();
      if (head.method.empty() || head.target.empty() || !Inside(head.method, bytes) ||
          !Inside(head.target, bytes) || !Inside(head.version, bytes)) {
        __builtin_trap();
      }
      for (const auto& [name, value] : head.fields) {
        if (name.empty() || !Inside(name, bytes) || !Inside(value, bytes)) __builtin_trap();
      }
      (void)head.Find("host");
      (void)head.path();
      break;
  }
  return 0;
}
