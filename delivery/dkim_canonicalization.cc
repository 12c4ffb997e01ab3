// Implementation of delivery/dkim_canonicalization.h.
#include "delivery/dkim_canonicalization.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "core/check.h"

namespace tern::delivery {
namespace {

bool IsWsp(char c) { return c == ' ' || c == '\t'; }

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
  for (char c : bytes) {
    if (buffered_ == sizeof(buffer_)) Flush();
    buffer_[buffered_++] = c;
  }
}

void RelaxedBodyHash::Update(absl::string_view stored) {
  for (char c : stored) {
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
