// Implementation of inject/substitution.h: one left-to-right scan, no recursion (a value
// containing "{{ x }}" is copied as text, never expanded again).
#include "inject/substitution.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace tern::inject {
namespace {

bool IsNameChar(char c) { return absl::ascii_isalnum(c) || c == '_' || c == '.' || c == '-'; }

// The length of the placeholder at text[0] ("{{" known) and its name, or 0.
size_t ScanPlaceholder(absl::string_view text, absl::string_view* name) {
  size_t i = 2;
  while (i < text.size() && text[i] == ' ') ++i;
  const size_t start = i;
  while (i < text.size() && IsNameChar(text[i])) ++i;
  if (i == start) return 0;
  *name = text.substr(start, i - start);
  while (i < text.size() && text[i] == ' ') ++i;
  if (text.substr(i, 2) != "}}") return 0;
  return i + 2;
}

}  // namespace

SubstitutionValues::SubstitutionValues(const StringPairs& request_level,
                                       const StringPairs& recipient_level) {
  for (const auto& [key, value] : request_level) values_[key] = value;
  for (const auto& [key, value] : recipient_level) values_[key] = value;
}

absl::string_view SubstitutionValues::Find(absl::string_view name) const {
  auto it = values_.find(name);
  return it == values_.end() ? absl::string_view() : it->second;
}

absl::Status ExpandTemplate(absl::string_view text_template, const SubstitutionValues& values,
                            Placement placement, size_t bytes_max, std::string* out) {
  auto append = [&](absl::string_view piece) {
    if (out->size() + piece.size() > bytes_max) return false;
    out->append(piece.data(), piece.size());
    return true;
  };
  auto exhausted = [&] {
    return absl::ResourceExhaustedError(
        absl::StrCat("substitution makes more than ", bytes_max, " bytes"));
  };
  size_t copied = 0;  // text_template[0, copied) is in *out
  size_t at = 0;
  while ((at = text_template.find("{{", at)) != absl::string_view::npos) {
    absl::string_view name;
    const size_t length = ScanPlaceholder(text_template.substr(at), &name);
    if (length == 0) {
      ++at;
      continue;
    }
    if (!append(text_template.substr(copied, at - copied))) return exhausted();
    const absl::string_view value = values.Find(name);
    if (placement == Placement::kBody) {
      if (!append(value)) return exhausted();
    } else {
      if (out->size() + value.size() > bytes_max) return exhausted();
      for (char c : value) {
        const auto u = static_cast<unsigned char>(c);
        out->push_back((u < 0x20 && c != '\t') || u == 0x7F ? ' ' : c);
      }
    }
    at += length;
    copied = at;
  }
  if (!append(text_template.substr(copied))) return exhausted();
  return absl::OkStatus();
}

}  // namespace tern::inject
