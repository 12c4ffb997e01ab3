// Implementation of net/http_query.h.
#include "net/http_query.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"

namespace tern::net {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string Unescape(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%' && i + 2 < text.size() && HexValue(text[i + 1]) >= 0 &&
               HexValue(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2])));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

QueryParams ParseQuery(absl::string_view query) {
  QueryParams params;
  for (absl::string_view pair : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    const size_t eq = pair.find('=');
    if (eq == absl::string_view::npos) {
      params.emplace_back(Unescape(pair), "");
    } else {
      params.emplace_back(Unescape(pair.substr(0, eq)), Unescape(pair.substr(eq + 1)));
    }
  }
  return params;
}

std::string QueryValue(const QueryParams& params, absl::string_view key) {
  for (const auto& [k, v] : params) {
    if (k == key) return v;
  }
  return "";
}

bool HasQueryKey(const QueryParams& params, absl::string_view key) {
  for (const auto& [k, v] : params) {
    if (k == key) return true;
  }
  return false;
}

std::vector<std::string> QueryValues(const QueryParams& params, absl::string_view key) {
  std::vector<std::string> values;
  for (const auto& [k, v] : params) {
    if (k == key) values.push_back(v);
  }
  return values;
}

std::string QueryEscape(absl::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : value) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
        c == '~') {
      out.push_back(c);
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 15]);
    }
  }
  return out;
}

}  // namespace tern::net
