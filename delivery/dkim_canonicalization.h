// DKIM "relaxed" canonicalization (RFC 6376 §3.4.2, §3.4.4) of a message as the spool
// stores it (CRLF lines, dot-stuffed: a line that starts with '.' has one more in front):
//
//   std::vector<HeaderField> fields = SplitHeader(stored);   // views into `stored`
//   std::string h = RelaxedHeader(fields[0].name, fields[0].value);   // "from:a@b.c\r\n"
//   RelaxedBodyHash body;                                      // SHA-256
//   body.Update(BodyOf(stored)); std::string bh = body.Finish(); // 32 bytes
//
// The body is hashed in one pass over the stored bytes, unstuffing and canonicalizing
// through a small fixed buffer: no copy of the body is made. Bounded: SplitHeader looks at
// most at kHeaderFieldsMax fields within delivery's kHeaderScanBytesMax bytes.
#pragma once

#include <openssl/evp.h>

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace tern::delivery {

inline constexpr size_t kHeaderFieldsMax = 1000;

struct HeaderField {
  absl::string_view name;   // as written, without the colon
  absl::string_view value;  // after the colon, folding CRLFs included, without the last CRLF
};

// The header fields of a stored message, in order (stops at the empty line, at
// kHeaderFieldsMax fields or at a line that is not a field).
std::vector<HeaderField> SplitHeader(absl::string_view stored);
// The stored body after the header's empty line (empty when there is none).
absl::string_view BodyOf(absl::string_view stored);
// "name:value\r\n", relaxed: name lower-cased, value unfolded, runs of WSP as one SP, WSP
// removed at both ends of the value.
std::string RelaxedHeader(absl::string_view name, absl::string_view value);

class RelaxedBodyHash {
 public:
  RelaxedBodyHash();
  ~RelaxedBodyHash();
  RelaxedBodyHash(const RelaxedBodyHash&) = delete;
  RelaxedBodyHash& operator=(const RelaxedBodyHash&) = delete;
  // Stored bytes, in any split.
  void Update(absl::string_view stored);
  // SHA-256 of the canonical body (trailing empty lines removed; "" stays "").
  std::string Finish();

 private:
  void Emit(absl::string_view bytes);
  void Flush();

  EVP_MD_CTX* sha_;
  char buffer_[4096];
  size_t buffered_ = 0;
  bool at_line_start_ = true;
  bool pending_space_ = false;  // WSP seen in the line, written if more text follows
  bool pending_cr_ = false;     // a CR that may start CRLF
  size_t empty_lines_ = 0;      // CRLFs of empty lines held back (dropped at the end)
  bool line_has_text_ = false;
};

}  // namespace tern::delivery
