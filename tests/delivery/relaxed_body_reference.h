// A plain, slow statement of DKIM's relaxed body canonicalization (RFC 6376 §3.4.4) of a
// stored (dot-stuffed) body, written line by line as the RFC says it, for tests and the fuzz
// target to hold delivery/dkim_canonicalization.h's one-pass hash to.
#pragma once

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace tern::delivery {

inline std::string ReferenceRelaxedBody(absl::string_view stored) {
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < stored.size()) {
    size_t eol = stored.find("\r\n", pos);
    if (eol == absl::string_view::npos) eol = stored.size();
    absl::string_view line = stored.substr(pos, eol - pos);
    if (!line.empty() && line[0] == '.') line.remove_prefix(1);  // RFC 5321 §4.5.2
    std::string canonical;
    bool in_space = false;
    for (char c : line) {
      const bool space = c == ' ' || c == '\t';
      if (space && !in_space) canonical.push_back(' ');
      if (!space) canonical.push_back(c);
      in_space = space;
    }
    while (!canonical.empty() && canonical.back() == ' ') canonical.pop_back();
    lines.push_back(canonical);
    pos = eol + 2;
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  std::string body;
  for (const std::string& line : lines) body += line + "\r\n";
  return body;
}

}  // namespace tern::delivery
