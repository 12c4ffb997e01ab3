// Implementation of inject/transfer_encoding.h.
#include "inject/transfer_encoding.h"

#include "absl/strings/escaping.h"
#include "inject/header_encoding.h"

namespace tern::inject {
namespace {

constexpr char kHex[] = "0123456789ABCDEF";

// RFC 2045 §6.7: one CRLF-free line, soft-broken so that no output line passes 76.
void AppendQuotedPrintableLine(absl::string_view line, std::string* out) {
  size_t column = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    const auto c = static_cast<unsigned char>(line[i]);
    const bool last = i + 1 == line.size();
    // Rule 3: white space at the end of a line is encoded, so transports cannot strip it.
    const bool literal = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !last);
    const size_t width = literal ? 1 : 3;
    // Keep room for the "=" of a soft break unless this is the line's last character.
    const size_t limit = last ? kEncodedLineCharsMax : kEncodedLineCharsMax - 1;
    if (column + width > limit) {
      out->append("=\r\n");
      column = 0;
    }
    if (literal) {
      out->push_back(static_cast<char>(c));
    } else {
      out->push_back('=');
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 15]);
    }
    column += width;
  }
}

}  // namespace

absl::string_view TransferEncodingName(TransferEncoding encoding) {
  switch (encoding) {
    case TransferEncoding::k7bit:
      return "7bit";
    case TransferEncoding::kQuotedPrintable:
      return "quoted-printable";
    case TransferEncoding::kBase64:
      return "base64";
  }
  return "base64";
}

std::string NormalizeLineEndings(absl::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 32);
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\r') {
      out += "\r\n";
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else if (c == '\n') {
      out += "\r\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

TransferEncoding ChooseTextEncoding(absl::string_view crlf_text) {
  size_t eight_bit = 0, line = 0;
  bool plain = true;
  for (size_t i = 0; i < crlf_text.size(); ++i) {
    const auto c = static_cast<unsigned char>(crlf_text[i]);
    if (c == '\r' && i + 1 < crlf_text.size() && crlf_text[i + 1] == '\n') {
      ++i;
      line = 0;
      continue;
    }
    if (++line > kLineBytesMax) plain = false;
    if (c >= 0x80) {
      ++eight_bit;
      plain = false;
    } else if ((c < 0x20 && c != '\t') || c == 0x7F) {
      plain = false;
    }
  }
  if (plain) return TransferEncoding::k7bit;
  return eight_bit * 3 > crlf_text.size() ? TransferEncoding::kBase64
                                          : TransferEncoding::kQuotedPrintable;
}

void AppendEncoded(absl::string_view data, TransferEncoding encoding, std::string* out) {
  switch (encoding) {
    case TransferEncoding::k7bit:
      out->append(data.data(), data.size());
      return;
    case TransferEncoding::kQuotedPrintable: {
      size_t start = 0;
      while (true) {
        const size_t end = data.find("\r\n", start);
        AppendQuotedPrintableLine(data.substr(start, end - start), out);
        if (end == absl::string_view::npos) return;
        out->append("\r\n");
        start = end + 2;
      }
    }
    case TransferEncoding::kBase64: {
      // 57 input bytes make one 76-character line.
      constexpr size_t kChunk = kEncodedLineCharsMax / 4 * 3;
      static_assert(kChunk * 4 / 3 == kEncodedLineCharsMax);
      std::string line;
      for (size_t at = 0; at < data.size(); at += kChunk) {
        absl::Base64Escape(data.substr(at, kChunk), &line);
        out->append(line);
        out->append("\r\n");
      }
      return;
    }
  }
}

}  // namespace tern::inject
