// Header field text for built messages: RFC 2047 encoded-words for non-ASCII text, display
// names, and RFC 2231 parameter values, each folded so that no line passes the limits.
//
//   out += UnstructuredField("Subject", "Grüße aus Köln");
//     // "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=\r\n"
//   out += MailboxField("From", {"news@example.com", "Example News"});
//     // "From: \"Example News\" <news@example.com>\r\n"
//   out += FileNameParameter("€ rates.pdf");  // "filename*=UTF-8''%E2%82%AC%20rates.pdf"
//
// RFC 2047 §2: an encoded-word is at most 75 characters, and a line holding one at most 76;
// §5: a multi-byte character is never split across two words. Words are separated by
// CRLF SP (folding), which a reader drops between adjacent encoded-words (§6.2).
// Inputs must hold no CR or LF (the request parser and substitution see to it).
#pragma once

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"
#include "inject/inject_request.h"

namespace tern::inject {

// RFC 5322 §2.1.1.
inline constexpr size_t kLineBytesMax = 998;
// RFC 2047 §2.
inline constexpr size_t kEncodedWordBytesMax = 75;
inline constexpr size_t kEncodedLineBytesMax = 76;

enum class WordEncoding { kQ, kBase64 };

// `text` as UTF-8 encoded-words, folded: the first line already holds `first_line_used`
// characters (e.g. "Subject: " is 9). Each following line starts with a space.
std::string EncodedWords(absl::string_view text, WordEncoding encoding, size_t first_line_used);

// "Name: value\r\n": the value as it is when it is printable ASCII and the line fits in
// 998 octets, else encoded-words (Q, or B when Q would be more than 1.5 times as long).
std::string UnstructuredField(absl::string_view name, absl::string_view value);

// "Name: \"Display\" <a@b>\r\n", "Name: a@b\r\n" without a display name, encoded-words for
// a non-ASCII one.
std::string MailboxField(absl::string_view name, const Mailbox& mailbox);

// "filename=\"a.pdf\"" for a printable ASCII name, "filename*=UTF-8''..." (RFC 2231 §4,
// percent-encoded) otherwise.
std::string FileNameParameter(absl::string_view file_name);

}  // namespace tern::inject
