// Content-Transfer-Encodings for built message parts (RFC 2045 §6): 7bit when the text
// allows it, quoted-printable for mostly-ASCII text with a few 8-bit bytes or long lines,
// base64 for the rest and for attachments. Every output line is CRLF-terminated and at most
// 76 characters (§6.7 rule 5, §6.8).
//
//   std::string text = NormalizeLineEndings(body);        // LF or CR alone → CRLF
//   TransferEncoding e = ChooseTextEncoding(text);
//   AppendEncoded(text, e, &part);
#pragma once

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace tern::inject {

inline constexpr size_t kEncodedLineCharsMax = 76;

enum class TransferEncoding { k7bit, kQuotedPrintable, kBase64 };

// "7bit", "quoted-printable", "base64".
absl::string_view TransferEncodingName(TransferEncoding encoding);

// `text` with each CRLF kept, and each LF or CR alone turned into CRLF.
std::string NormalizeLineEndings(absl::string_view text);

// For CRLF text: 7bit when every byte is printable ASCII, TAB or part of a CRLF and no line
// passes 998 octets; base64 when more than a third of the bytes are 8-bit; else
// quoted-printable.
TransferEncoding ChooseTextEncoding(absl::string_view crlf_text);

// Appends `data` encoded: 7bit as it is; quoted-printable with CRLF kept as line breaks and
// soft breaks ("=" CRLF) keeping lines within 76 characters; base64 in lines of 76
// characters exactly (the last one shorter), each ending CRLF. The 7bit and QP outputs end
// as the input does; base64 always ends with CRLF.
void AppendEncoded(absl::string_view data, TransferEncoding encoding, std::string* out);

}  // namespace tern::inject
