// Implementation of delivery/reply_pattern.h.
#include "delivery/reply_pattern.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "core/utf8.h"

namespace tern::delivery {
namespace {

// Shorter mixed tokens ("4xx", "v2", "ip6") are words, not ids.
constexpr size_t kIdBytesMin = 6;

bool IsTokenByte(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' ||
         c == '@' || c == '+' || c == '=' || c == '/' || c == '%';
}

bool IsReplyCode(absl::string_view t) {
  return t.size() == 3 && absl::ascii_isdigit(static_cast<unsigned char>(t[0])) &&
         absl::ascii_isdigit(static_cast<unsigned char>(t[1])) &&
         absl::ascii_isdigit(static_cast<unsigned char>(t[2]));
}

// "4.2.0", "5.7.26": class.subject.detail (RFC 3463 §2).
bool IsEnhancedCode(absl::string_view t) {
  int dots = 0;
  for (char c : t) {
    if (c == '.') {
      ++dots;
    } else if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return dots == 2 && t.size() >= 5 && t.size() <= 9 && t.front() != '.' && t.back() != '.';
}

void AppendCollapsedDigits(absl::string_view token, std::string* out) {
  bool in_digits = false;
  for (char c : token) {
    const bool digit = absl::ascii_isdigit(static_cast<unsigned char>(c));
    if (digit && !in_digits) out->push_back('#');
    if (!digit) out->push_back(c);
    in_digits = digit;
  }
}

void AppendToken(absl::string_view token, size_t index, std::string* out) {
  if (index < 2 && (IsReplyCode(token) || IsEnhancedCode(token))) {
    out->append(token.data(), token.size());
    return;
  }
  if (absl::StrContains(token, '@')) {
    out->append("<address>");
    return;
  }
  bool letters = false;
  bool digits = false;
  for (char c : token) {
    letters |= absl::ascii_isalpha(static_cast<unsigned char>(c));
    digits |= absl::ascii_isdigit(static_cast<unsigned char>(c));
  }
  // Dotted names keep their letters ("mx1.example.com" -> "mx#.example.com").
  if (letters && digits && token.size() >= kIdBytesMin && !absl::StrContains(token, '.')) {
    out->append("<id>");
    return;
  }
  AppendCollapsedDigits(token, out);
}

}  // namespace

std::string ReplyPattern(absl::string_view reply) {
  const bool cut = reply.size() > kReplyPatternBytesMax;
  reply = core::Utf8Prefix(reply, kReplyPatternBytesMax);  // never half a character
  std::string out;
  out.reserve(reply.size() + 3);
  size_t tokens = 0;
  size_t i = 0;
  while (i < reply.size()) {
    const char c = reply[i];
    if (IsTokenByte(c)) {
      size_t end = i;
      while (end < reply.size() && IsTokenByte(reply[end])) ++end;
      const absl::string_view token = reply.substr(i, end - i);
      // "<bob@example.com>" becomes "<address>", not "<<address>>".
      const bool bracketed = !out.empty() && out.back() == '<' && end < reply.size() &&
                             reply[end] == '>' && absl::StrContains(token, '@');
      if (bracketed) out.pop_back();
      AppendToken(token, tokens++, &out);
      i = bracketed ? end + 1 : end;
    } else if (absl::ascii_isspace(static_cast<unsigned char>(c))) {
      while (i < reply.size() && absl::ascii_isspace(static_cast<unsigned char>(reply[i]))) ++i;
      if (!out.empty()) out.push_back(' ');
    } else {
      // Control bytes (a reply is remote text) become '?'; other punctuation stays.
      out.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c);
      ++i;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (cut) out.append("...");
  return out;
}

}  // namespace tern::delivery
