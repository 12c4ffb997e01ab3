// Implementation of inject/header_encoding.h.
#include "inject/header_encoding.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "core/check.h"
#include "core/utf8.h"

namespace tern::inject {
namespace {

constexpr char kHex[] = "0123456789ABCDEF";
constexpr absl::string_view kQPrefix = "=?UTF-8?Q?";
constexpr absl::string_view kBPrefix = "=?UTF-8?B?";
constexpr absl::string_view kWordSuffix = "?=";

bool IsPrintableAscii(absl::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c > 0x7E) return false;
  }
  return true;
}

// RFC 2047 §5 (3): the characters a Q word may carry as they are, in a phrase too.
bool IsQLiteral(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '!' ||
         c == '*' || c == '+' || c == '-' || c == '/';
}

void AppendQ(absl::string_view character, std::string* out) {
  for (unsigned char c : character) {
    if (c == ' ') {
      out->push_back('_');
    } else if (IsQLiteral(c)) {
      out->push_back(static_cast<char>(c));
    } else {
      out->push_back('=');
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 15]);
    }
  }
}

size_t QBytes(absl::string_view character) {
  size_t n = 0;
  for (unsigned char c : character) n += c == ' ' || IsQLiteral(c) ? 1 : 3;
  return n;
}

// The length of the character at text[at]: a well-formed UTF-8 sequence, or one byte.
size_t CharacterBytes(absl::string_view text, size_t at) {
  const size_t n = core::Utf8SequenceBytes(text, at);
  return n == 0 ? 1 : n;
}

// Q for text that stays readable (Q at most half as long again as B), B for the rest.
WordEncoding ChooseWordEncoding(absl::string_view text) {
  const size_t q = QBytes(text);
  const size_t b = (text.size() + 2) / 3 * 4;
  return q * 2 <= b * 3 ? WordEncoding::kQ : WordEncoding::kBase64;
}

}  // namespace

std::string EncodedWords(absl::string_view text, WordEncoding encoding, size_t first_line_used) {
  const absl::string_view prefix = encoding == WordEncoding::kQ ? kQPrefix : kBPrefix;
  const size_t overhead = prefix.size() + kWordSuffix.size();
  std::string out;
  size_t line_used = first_line_used;
  size_t at = 0;
  bool first = true;
  while (first || at < text.size()) {
    if (!first) {
      out += "\r\n ";
      line_used = 1;
    }
    // Room for this word's payload: both RFC 2047 §2 bounds, and at least one character
    // (a first line already too full still gets one word, the caller's prefix permitting).
    const size_t room = line_used < kEncodedLineBytesMax ? kEncodedLineBytesMax - line_used : 0;
    const size_t word_max = std::min(kEncodedWordBytesMax, room);
    const size_t payload_max = word_max > overhead + 12 ? word_max - overhead : 12;
    size_t end = at, payload = 0;
    while (end < text.size()) {
      const size_t n = CharacterBytes(text, end);
      const size_t cost = encoding == WordEncoding::kQ
                              ? QBytes(text.substr(end, n))
                              : ((end + n - at + 2) / 3) * 4;  // base64 of [at, end + n)
      if (encoding == WordEncoding::kQ ? payload + cost > payload_max : cost > payload_max) break;
      payload = encoding == WordEncoding::kQ ? payload + cost : cost;
      end += n;
    }
    if (end == at && at < text.size()) end = at + CharacterBytes(text, at);  // always progress
    absl::StrAppend(&out, prefix);
    if (encoding == WordEncoding::kQ) {
      for (size_t i = at; i < end;) {
        const size_t n = CharacterBytes(text, i);
        AppendQ(text.substr(i, n), &out);
        i += n;
      }
    } else {
      out += absl::Base64Escape(text.substr(at, end - at));
    }
    absl::StrAppend(&out, kWordSuffix);
    at = end;
    first = false;
  }
  return out;
}

std::string UnstructuredField(absl::string_view name, absl::string_view value) {
  const size_t used = name.size() + 2;
  if (IsPrintableAscii(value) && used + value.size() <= kLineBytesMax) {
    return absl::StrCat(name, ": ", value, "\r\n");
  }
  return absl::StrCat(name, ": ", EncodedWords(value, ChooseWordEncoding(value), used), "\r\n");
}

std::string MailboxField(absl::string_view name, const Mailbox& mailbox) {
  const size_t used = name.size() + 2;
  if (mailbox.name.empty()) return absl::StrCat(name, ": ", mailbox.email, "\r\n");
  if (IsPrintableAscii(mailbox.name)) {
    std::string quoted = "\"";
    for (char c : mailbox.name) {
      if (c == '"' || c == '\\') quoted.push_back('\\');
      quoted.push_back(c);
    }
    quoted.push_back('"');
    if (used + quoted.size() + mailbox.email.size() + 3 <= kLineBytesMax) {
      return absl::StrCat(name, ": ", quoted, " <", mailbox.email, ">\r\n");
    }
  }
  // The address on a line of its own: an encoded line stays within 76 characters.
  return absl::StrCat(name, ": ",
                      EncodedWords(mailbox.name, ChooseWordEncoding(mailbox.name), used), "\r\n <",
                      mailbox.email, ">\r\n");
}

std::string FileNameParameter(absl::string_view file_name) {
  if (IsPrintableAscii(file_name)) {
    std::string out = "filename=\"";
    for (char c : file_name) {
      if (c == '"' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    out.push_back('"');
    return out;
  }
  // RFC 2231 §7 attribute-char: token characters except '*', '\'' and '%'.
  std::string out = "filename*=UTF-8''";
  for (unsigned char c : file_name) {
    const bool literal =
        (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
        absl::string_view("!#$&+-.^_`|~").find(static_cast<char>(c)) != absl::string_view::npos;
    if (literal) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace tern::inject
