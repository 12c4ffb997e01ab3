// HttpResponse: what the admin endpoint answers to one request (status, content type,
// body, and any further header fields); AdminServer frames it as HTTP/1.0.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace tern::net {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  // Further fields, e.g. {"WWW-Authenticate", "Bearer realm=\"ternd\""}.
  std::vector<std::pair<std::string, std::string>> headers = {};
};

// "OK", "Not Found", ... (RFC 9110 §15); "Error" for a status it does not know.
const char* ReasonPhrase(int status);

}  // namespace tern::net
