// Implementation of core/toml_input.h.
#include "core/toml_input.h"

#include <algorithm>
#include <string_view>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace tern::core {

std::string OneLineTomlText(absl::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') {
      out += "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      out += '?';
    } else {
      out += c;
    }
  }
  return out;
}

TomlForbiddenByte FirstForbiddenTomlByte(absl::string_view text) {
  enum class State { kCode, kComment, kBasic, kLiteral, kMultiBasic, kMultiLiteral };
  State state = State::kCode;
  bool escaped = false;
  uint32_t line = 1;
  uint32_t column = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    ++column;
    if (byte == '\n') {
      ++line;
      column = 0;
      escaped = false;
      if (state != State::kMultiBasic && state != State::kMultiLiteral) state = State::kCode;
      continue;
    }
    if ((byte < 0x20 && byte != '\t' && byte != '\r') || byte == 0x7f) {
      return {line, column, "a control character (write it as an escape in a string)"};
    }
    if (byte >= 0x80 && state != State::kComment) {
      return {line, column,
              "non-ASCII text is allowed only in comments (in strings write \\uXXXX)"};
    }
    const absl::string_view rest = text.substr(i);
    switch (state) {
      case State::kCode:
        if (byte == '#') {
          state = State::kComment;
        } else if (absl::StartsWith(rest, "\"\"\"") || absl::StartsWith(rest, "'''")) {
          state = byte == '"' ? State::kMultiBasic : State::kMultiLiteral;
          i += 2;
          column += 2;
        } else if (byte == '"') {
          state = State::kBasic;
        } else if (byte == '\'') {
          state = State::kLiteral;
        }
        break;
      case State::kBasic:
      case State::kMultiBasic:
        if (escaped) {
          escaped = false;
        } else if (byte == '\\') {
          escaped = true;
        } else if (state == State::kBasic && byte == '"') {
          state = State::kCode;
        } else if (state == State::kMultiBasic && absl::StartsWith(rest, "\"\"\"")) {
          state = State::kCode;
          i += 2;
          column += 2;
        }
        break;
      case State::kLiteral:
        if (byte == '\'') state = State::kCode;
        break;
      case State::kMultiLiteral:
        if (absl::StartsWith(rest, "'''")) {
          state = State::kCode;
          i += 2;
          column += 2;
        }
        break;
      case State::kComment:
        break;
    }
  }
  return {};
}

absl::StatusOr<toml::table> ParseTomlText(absl::string_view text, absl::string_view file_name,
                                          size_t bytes_max) {
  if (text.size() > bytes_max) {
    return absl::InvalidArgumentError(
        absl::StrCat(file_name, ": larger than ", bytes_max, " bytes"));
  }
  if (const TomlForbiddenByte bad = FirstForbiddenTomlByte(text); bad.line != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(file_name, ":", bad.line, ":", bad.column, ": syntax error: ", bad.why));
  }
  const std::string source(file_name);
  toml::parse_result parsed =
      toml::parse(std::string_view(text.data(), text.size()), std::string_view(source));
  if (!parsed) {
    const toml::parse_error& error = parsed.error();
    const std::string_view description = error.description();
    return absl::InvalidArgumentError(
        absl::StrCat(file_name, ":", error.source().begin.line, ":", error.source().begin.column,
                     ": syntax error: ",
                     OneLineTomlText(absl::string_view(description.data(), description.size()))));
  }
  return std::move(parsed).table();
}

void TomlProblems::Add(uint32_t line, std::string message) {
  if (problems_.size() >= reported_max_) {
    ++dropped_;
    return;
  }
  problems_.emplace_back(line, std::move(message));
}

absl::Status TomlProblems::ToStatus() {
  std::stable_sort(problems_.begin(), problems_.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> lines;
  for (auto& [line, message] : problems_) lines.push_back(std::move(message));
  if (dropped_ > 0) lines.push_back(absl::StrCat("... and ", dropped_, " more problems"));
  return absl::InvalidArgumentError(absl::StrJoin(lines, "\n"));
}

}  // namespace tern::core
