// MessageFactory and MessageVerifier: tern-bench's message format (bench_message.h).
#include "tools/tern_bench/bench_message.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "core/check.h"

namespace tern::tools::tern_bench {
namespace {

constexpr size_t kFillerLineChars = 78;  // + CRLF = 80 bytes per line
constexpr size_t kDotLineEvery = 16;

// A cheap deterministic generator for the filler text.
uint64_t NextRandom(uint64_t* state) {
  uint64_t x = (*state += 0x9e3779b97f4a7c15ull);
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

MessageFactory::MessageFactory(std::string run_id, uint32_t stream, size_t max_size)
    : run_id_(std::move(run_id)), stream_(stream) {
  const size_t lines = max_size / (kFillerLineChars + 2) + 1;
  filler_.reserve(lines * (kFillerLineChars + 2));
  stuffed_filler_.reserve(lines * (kFillerLineChars + 3));
  uint64_t state = 0x7465726e62656e63ull + stream;  // "ternbenc"
  static constexpr absl::string_view kAlphabet =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:-_=+/";
  for (size_t i = 0; i < lines; ++i) {
    std::string line(kFillerLineChars, ' ');
    for (char& c : line) c = kAlphabet[NextRandom(&state) % kAlphabet.size()];
    if (i % kDotLineEvery == kDotLineEvery - 1) line[0] = '.';
    if (line[0] == '.') stuffed_filler_.push_back('.');
    absl::StrAppend(&filler_, line, "\r\n");
    absl::StrAppend(&stuffed_filler_, line, "\r\n");
    line_ends_.push_back(static_cast<uint32_t>(filler_.size()));
    stuffed_line_ends_.push_back(static_cast<uint32_t>(stuffed_filler_.size()));
  }
}

void MessageFactory::Build(uint64_t sequence, size_t size, absl::string_view sender,
                           absl::string_view first_recipient, bool want_content,
                           bool want_data_wire, GeneratedMessage* out) const {
  out->message_id = absl::StrCat(run_id_, ".", stream_, ".", sequence, "@tern-bench");
  const std::string first_line =
      absl::StrCat("tern-bench message ", run_id_, ".", stream_, ".", sequence, "\r\n");
  const std::string head_without_checksum =
      absl::StrCat("Message-ID: <", out->message_id, ">\r\nFrom: <", sender, ">\r\nTo: <",
                   first_recipient, ">\r\nSubject: tern-bench ", run_id_, ".", stream_, ".",
                   sequence, "\r\n", kChecksumHeader, ": ");
  const size_t fixed = head_without_checksum.size() + 16 + 4 + first_line.size();

  // Whole filler lines that fit, then one pad line (no leading dot) for the rest.
  size_t filler_lines = 0;
  if (size > fixed) {
    const size_t room = size - fixed;
    filler_lines =
        std::upper_bound(line_ends_.begin(), line_ends_.end(), room) - line_ends_.begin();
  }
  const size_t filler_bytes = filler_lines == 0 ? 0 : line_ends_[filler_lines - 1];
  const size_t stuffed_bytes = filler_lines == 0 ? 0 : stuffed_line_ends_[filler_lines - 1];
  std::string pad;
  if (size > fixed + filler_bytes + 2) pad = std::string(size - fixed - filler_bytes - 2, 'x');
  if (!pad.empty()) pad += "\r\n";

  BodyChecksum checksum;
  checksum.Update(first_line);
  checksum.Update(absl::string_view(filler_).substr(0, filler_bytes));
  checksum.Update(pad);
  out->checksum = checksum.Final();
  out->size = fixed + filler_bytes + pad.size();
  const std::string hex = BodyChecksum::Format(out->checksum);

  out->content.clear();
  if (want_content) {
    absl::StrAppend(&out->content, head_without_checksum, hex, "\r\n\r\n", first_line,
                    absl::string_view(filler_).substr(0, filler_bytes), pad);
  }
  out->data_wire.clear();
  if (want_data_wire) {
    // Nothing in the headers, the first line or the pad starts with a dot.
    absl::StrAppend(&out->data_wire, head_without_checksum, hex, "\r\n\r\n", first_line,
                    absl::string_view(stuffed_filler_).substr(0, stuffed_bytes), pad, ".\r\n");
  }
}

void MessageVerifier::Reset() {
  in_body_ = false;
  overflowed_ = false;
  headers_.clear();
  checksum_.Reset();
  result_ = VerifyResult();
}

void MessageVerifier::Update(absl::string_view content) {
  if (!in_body_) {
    const size_t old_size = headers_.size();
    const size_t take = std::min(content.size(), kHeaderBytesMax - old_size);
    headers_.append(content.data(), take);
    size_t body_start = std::string::npos;
    if (absl::StartsWith(headers_, "\r\n")) {
      body_start = 2;  // no header section at all
    } else if (size_t end = headers_.find("\r\n\r\n", old_size >= 3 ? old_size - 3 : 0);
               end != std::string::npos) {
      body_start = end + 4;
    }
    if (body_start == std::string::npos) {
      if (headers_.size() < kHeaderBytesMax) return;  // all of `content` taken
      overflowed_ = true;                             // no end of headers in sight
      body_start = headers_.size();
    }
    in_body_ = true;
    result_.headers_complete = !overflowed_;
    // What follows the blank line: from headers_ and from the part of `content` not taken.
    const absl::string_view body_in_headers = absl::string_view(headers_).substr(body_start);
    checksum_.Update(body_in_headers);
    result_.body_bytes += body_in_headers.size();
    headers_.resize(body_start);
    content.remove_prefix(take);
    ParseHeaders();
  }
  checksum_.Update(content);
  result_.body_bytes += content.size();
}

void MessageVerifier::ParseHeaders() {
  absl::string_view rest = headers_;
  std::string field;  // one unfolded header field
  auto take_field = [this](absl::string_view f) {
    const size_t colon = f.find(':');
    if (colon == absl::string_view::npos) return;
    const absl::string_view name = absl::StripAsciiWhitespace(f.substr(0, colon));
    absl::string_view value = absl::StripAsciiWhitespace(f.substr(colon + 1));
    if (absl::EqualsIgnoreCase(name, "Message-ID") && result_.message_id.empty()) {
      absl::ConsumePrefix(&value, "<");
      absl::ConsumeSuffix(&value, ">");
      result_.message_id = std::string(value.substr(0, 256));
    } else if (absl::EqualsIgnoreCase(name, kChecksumHeader) && !result_.has_checksum) {
      uint64_t parsed = 0;
      if (value.size() == 16 && absl::SimpleHexAtoi(value, &parsed)) {
        result_.has_checksum = true;
        result_.expected = parsed;
      }
    }
  };
  while (!rest.empty()) {
    size_t eol = rest.find("\r\n");
    const absl::string_view line = rest.substr(0, eol);
    rest.remove_prefix(eol == absl::string_view::npos ? rest.size() : eol + 2);
    if (line.empty()) break;
    if ((line[0] == ' ' || line[0] == '\t') && !field.empty()) {
      absl::StrAppend(&field, line);  // folded continuation
      continue;
    }
    if (!field.empty()) take_field(field);
    field.assign(line.data(), line.size());
  }
  if (!field.empty()) take_field(field);
}

VerifyResult MessageVerifier::Finish() {
  if (!in_body_) {
    // The content ended inside the header section: whatever there is are headers.
    in_body_ = true;
    ParseHeaders();
  }
  result_.computed = checksum_.Final();
  VerifyResult result = std::move(result_);
  Reset();
  return result;
}

}  // namespace tern::tools::tern_bench
