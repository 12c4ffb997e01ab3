// Implementation of delivery/dkim_canonicalization.h.
#include "delivery/dkim_canonicalization.h"

#include <algorithm>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "absl/strings/ascii.h"
#include "core/check.h"

namespace tern::delivery {
namespace {

bool IsWsp(char c) { return c == ' ' || c == '\t'; }

// A byte that relaxed body canonicalization keeps as it is wherever it stands in a line of
// text: anything but CR and WSP (a bare LF is text; Tern never stores one).
bool IsPlain(char c) { return c != '\r' && !IsWsp(c); }

#if defined(__SSE2__)
// How many of the 16 bytes at p are plain text or single spaces before a plain byte, read
// 16 at a time: the count up to the first byte that CanonicalTextRun must look at.
// Reads p[0..16]: the caller leaves 17 bytes.
size_t PlainBlockPrefix(const char* p) {
  const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i next = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 1));
  const auto is = [](__m128i v, char c) { return _mm_cmpeq_epi8(v, _mm_set1_epi8(c)); };
  const __m128i next_not_plain =
      _mm_or_si128(_mm_or_si128(is(next, ' '), is(next, '\t')), is(next, '\r'));
  const __m128i stop = _mm_or_si128(_mm_or_si128(is(bytes, '\t'), is(bytes, '\r')),
                                    _mm_and_si128(is(bytes, ' '), next_not_plain));
  const unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(stop));
  return mask == 0 ? 16 : static_cast<size_t>(__builtin_ctz(mask));
}
#endif

// The length of the longest prefix of `bytes` that is already canonical when it follows
// text in the middle of a line: plain bytes, single spaces between them, and CRLFs that end
// a line of text and start another with a plain byte that is not a stuffing dot. Whatever
// follows the prefix (a WSP run, an empty line, a line starting with '.', the end of
// `bytes`) is left to the byte-by-byte state machine.
size_t CanonicalTextRun(absl::string_view bytes) {
  const char* const begin = bytes.data();
  const char* const end = begin + bytes.size();
  const char* p = begin;
  while (p < end) {
#if defined(__SSE2__)
    while (end - p > 16) {
      const size_t plain = PlainBlockPrefix(p);
      p += plain;
      if (plain < 16) break;
    }
#endif
    if (IsPlain(*p)) {
      ++p;
    } else if (*p == ' ' && end - p > 1 && IsPlain(p[1])) {
      p += 2;
    } else if (*p == '\r' && end - p > 2 && p[1] == '\n' && IsPlain(p[2]) && p[2] != '.') {
      p += 3;
    } else {
      break;
    }
  }
  return static_cast<size_t>(p - begin);
}

}  // namespace

std::vector<HeaderField> SplitHeader(absl::string_view stored) {
  std::vector<HeaderField> fields;
  size_t pos = 0;
  while (pos < stored.size() && fields.size() < kHeaderFieldsMax) {
    const size_t eol = stored.find("\r\n", pos);
    if (eol == absl::string_view::npos || eol == pos) break;  // no CRLF, or the empty line
    const absl::string_view line = stored.substr(pos, eol - pos);
    if (IsWsp(line[0])) {
      if (fields.empty()) break;
      // A continuation: the field's value runs to this line's end.
      HeaderField& last = fields.back();
      last.value = stored.substr(last.value.data() - stored.data(),
                                 eol - static_cast<size_t>(last.value.data() - stored.data()));
    } else {
      const size_t colon = line.find(':');
      if (colon == absl::string_view::npos || colon == 0) break;
      // RFC 5322 §3.6.8: a field name is printable ASCII; WSP before the colon is the
      // obsolete syntax RFC 6376's example uses. Anything else is not a header field.
      const absl::string_view name = absl::StripTrailingAsciiWhitespace(line.substr(0, colon));
      if (name.empty() ||
          std::any_of(name.begin(), name.end(), [](char c) { return c < 33 || c > 126; })) {
        break;
      }
      fields.push_back({line.substr(0, colon), line.substr(colon + 1)});
    }
    pos = eol + 2;
  }
  return fields;
}

absl::string_view BodyOf(absl::string_view stored) {
  if (stored.substr(0, 2) == "\r\n") return stored.substr(2);
  const size_t blank = stored.find("\r\n\r\n");
  return blank == absl::string_view::npos ? absl::string_view() : stored.substr(blank + 4);
}

std::string RelaxedHeader(absl::string_view name, absl::string_view value) {
  std::string out = absl::AsciiStrToLower(absl::StripTrailingAsciiWhitespace(name));
  out.push_back(':');
  bool space = false;
  bool text = false;
  for (char c : value) {
    if (c == '\r' || c == '\n') continue;  // unfold
    if (IsWsp(c)) {
      space = true;
      continue;
    }
    if (space && text) out.push_back(' ');
    space = false;
    text = true;
    out.push_back(c);
  }
  out += "\r\n";
  return out;
}

RelaxedBodyHash::RelaxedBodyHash() : sha_(EVP_MD_CTX_new()) {
  CHECK(sha_ != nullptr);
  CHECK_EQ(EVP_DigestInit_ex(sha_, EVP_sha256(), nullptr), 1);
}

RelaxedBodyHash::~RelaxedBodyHash() { EVP_MD_CTX_free(sha_); }

void RelaxedBodyHash::Flush() {
  if (buffered_ > 0) CHECK_EQ(EVP_DigestUpdate(sha_, buffer_, buffered_), 1);
  buffered_ = 0;
}

void RelaxedBodyHash::Emit(absl::string_view bytes) {
  if (bytes.size() >= sizeof(buffer_) / 2) {  // long runs go to the digest from where they are
    Flush();
    CHECK_EQ(EVP_DigestUpdate(sha_, bytes.data(), bytes.size()), 1);
    return;
  }
  if (buffered_ + bytes.size() > sizeof(buffer_)) Flush();
  std::memcpy(buffer_ + buffered_, bytes.data(), bytes.size());
  buffered_ += bytes.size();
}

void RelaxedBodyHash::Update(absl::string_view stored) {
  for (size_t i = 0; i < stored.size(); ++i) {
    // After text in a line (nothing held back), most bytes are canonical already.
    if (line_has_text_ && !at_line_start_ && !pending_cr_ && !pending_space_) {
      const size_t run = CanonicalTextRun(stored.substr(i));
      Emit(stored.substr(i, run));
      i += run;
      if (i == stored.size()) break;
    }
    const char c = stored[i];
    if (pending_cr_) {
      pending_cr_ = false;
      if (c == '\n') {  // end of line: trailing WSP dropped, empty lines held back
        pending_space_ = false;
        if (line_has_text_) {
          Emit("\r\n");
        } else {
          ++empty_lines_;
        }
        line_has_text_ = false;
        at_line_start_ = true;
        continue;
      }
      // A lone CR is text (Tern never stores one; handled for completeness).
      at_line_start_ = false;
      if (!line_has_text_) {
        for (; empty_lines_ > 0; --empty_lines_) Emit("\r\n");
      }
      if (pending_space_) Emit(" ");
      pending_space_ = false;
      line_has_text_ = true;
      Emit("\r");
    }
    if (at_line_start_) {
      at_line_start_ = false;
      if (c == '.') continue;  // the stuffing dot (RFC 5321 §4.5.2)
    }
    if (c == '\r') {
      pending_cr_ = true;
      continue;
    }
    if (IsWsp(c)) {
      pending_space_ = true;
      continue;
    }
    if (!line_has_text_) {
      for (; empty_lines_ > 0; --empty_lines_) Emit("\r\n");
    }
    if (pending_space_) Emit(" ");
    pending_space_ = false;
    line_has_text_ = true;
    Emit(absl::string_view(&c, 1));
  }
}

std::string RelaxedBodyHash::Finish() {
  if (pending_cr_) {  // a final lone CR: text
    pending_cr_ = false;
    if (!line_has_text_) {
      for (; empty_lines_ > 0; --empty_lines_) Emit("\r\n");
    }
    if (pending_space_) Emit(" ");
    Emit("\r");
    line_has_text_ = true;
  }
  if (line_has_text_) Emit("\r\n");  // a non-empty body ends with CRLF
  Flush();
  std::string digest(EVP_MAX_MD_SIZE, '\0');
  unsigned int size = 0;
  CHECK_EQ(EVP_DigestFinal_ex(sha_, reinterpret_cast<unsigned char*>(digest.data()), &size), 1);
  digest.resize(size);
  return digest;
}

}  // namespace tern::delivery
