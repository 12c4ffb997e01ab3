// Implementation of core/json_writer.h.
#include "core/json_writer.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/utf8.h"

namespace tern::core {
namespace {

constexpr uint64_t kEachByte = 0x0101010101010101ULL;
constexpr uint64_t kHighBits = 0x8080808080808080ULL;

// Non-zero when some byte of `v` is zero (exact as a yes/no answer).
constexpr uint64_t ZeroByteIn(uint64_t v) { return (v - kEachByte) & ~v & kHighBits; }

// True when none of the 8 bytes in `v` needs attention: all printable ASCII other than '"'
// and '\\' (bytes < 0x20, '"', '\\', DEL and bytes >= 0x80 need it).
constexpr bool EightPlainBytes(uint64_t v) {
  uint64_t special = v & kHighBits;
  special |= (v - kEachByte * 0x20) & ~v & kHighBits;  // some byte < 0x20
  special |= ZeroByteIn(v ^ (kEachByte * '"'));
  special |= ZeroByteIn(v ^ (kEachByte * '\\'));
  special |= ZeroByteIn(v ^ (kEachByte * 0x7f));
  return special == 0;
}

constexpr bool PlainByte(unsigned char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; }

void AppendEscape(unsigned char c, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  switch (c) {
    case '"':
      out->append("\\\"");
      return;
    case '\\':
      out->append("\\\\");
      return;
    case '\n':
      out->append("\\n");
      return;
    case '\r':
      out->append("\\r");
      return;
    case '\t':
      out->append("\\t");
      return;
    default: {
      // Control bytes, DEL, and bytes outside well-formed UTF-8 (their Latin-1 reading).
      const char escape[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
      out->append(escape, sizeof(escape));
    }
  }
}

}  // namespace

void AppendJsonString(absl::string_view text, std::string* out) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  out->reserve(out->size() + n + 2);
  out->push_back('"');
  size_t copied = 0;  // text[copied, i) is plain and not yet appended
  size_t i = 0;
  while (i < n) {
    for (uint64_t word; i + 8 <= n; i += 8) {
      memcpy(&word, p + i, 8);
      if (!EightPlainBytes(word)) break;
    }
    if (i == n) break;
    const unsigned char c = p[i];
    if (PlainByte(c)) {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      if (const size_t bytes = Utf8SequenceBytes(text, i); bytes > 0) {
        i += bytes;
        continue;
      }
    }
    out->append(text.data() + copied, i - copied);
    AppendEscape(c, out);
    copied = ++i;
  }
  out->append(text.data() + copied, n - copied);
  out->push_back('"');
}

void JsonWriter::BeforeValue() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!first_.empty()) {
    if (!first_.back()) out_->push_back(',');
    first_.back() = false;
  }
}

void JsonWriter::BeginObject() {
  BeforeValue();
  out_->push_back('{');
  first_.push_back(true);
}
void JsonWriter::EndObject() {
  out_->push_back('}');
  first_.pop_back();
}
void JsonWriter::BeginArray() {
  BeforeValue();
  out_->push_back('[');
  first_.push_back(true);
}
void JsonWriter::EndArray() {
  out_->push_back(']');
  first_.pop_back();
}
void JsonWriter::Key(absl::string_view key) {
  BeforeValue();
  AppendJsonString(key, out_);
  out_->push_back(':');
  after_key_ = true;
}
void JsonWriter::String(absl::string_view value) {
  BeforeValue();
  AppendJsonString(value, out_);
}
void JsonWriter::Number(int64_t value) {
  BeforeValue();
  absl::StrAppend(out_, value);
}
void JsonWriter::Number(uint64_t value) {
  BeforeValue();
  absl::StrAppend(out_, value);
}
void JsonWriter::Bool(bool value) {
  BeforeValue();
  out_->append(value ? "true" : "false");
}
void JsonWriter::Raw(absl::string_view json) {
  BeforeValue();
  out_->append(json.data(), json.size());
}

}  // namespace tern::core
