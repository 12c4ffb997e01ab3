// Record lines and the RecordWriter (sink_record.h).
#include "tools/tern_bench/sink_record.h"

#include "absl/strings/str_cat.h"
#include "core/check.h"
#include "core/json_writer.h"
#include "core/status_macros.h"
#include "tools/tern_bench/checksum.h"

namespace tern::tools::tern_bench {
namespace {

// Room kept for everything after the recipients ("],"recipients_omitted":N,...}").
constexpr size_t kLineTailBytes = 512;

// The length of the well-formed UTF-8 sequence at the start of `s`, or 0.
size_t Utf8SequenceLength(absl::string_view s) {
  const auto byte = [&s](size_t i) { return static_cast<uint8_t>(s[i]); };
  const uint8_t lead = byte(0);
  if (lead < 0x80) return 1;
  size_t length;
  uint32_t min;
  if ((lead & 0xe0) == 0xc0) {
    length = 2, min = 0x80;
  } else if ((lead & 0xf0) == 0xe0) {
    length = 3, min = 0x800;
  } else if ((lead & 0xf8) == 0xf0) {
    length = 4, min = 0x10000;
  } else {
    return 0;
  }
  if (s.size() < length) return 0;
  uint32_t code = lead & (0x7f >> length);
  for (size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xc0) != 0x80) return 0;
    code = code << 6 | (byte(i) & 0x3f);
  }
  if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return 0;
  return length;
}

// Writes `text` as a JSON string; bytes that are not UTF-8 (JSON text must be) become
// U+FFFD. Addresses and Message-IDs are client input: anything may come.
void StringValue(core::JsonWriter& json, absl::string_view text, std::string* scratch) {
  bool valid = true;
  for (size_t i = 0; i < text.size() && valid;) {
    const size_t n = Utf8SequenceLength(text.substr(i));
    valid = n != 0;
    i += n;
  }
  if (valid) return json.String(text);
  scratch->clear();
  for (size_t i = 0; i < text.size();) {
    const size_t n = Utf8SequenceLength(text.substr(i));
    const absl::string_view piece = n == 0 ? absl::string_view("\xef\xbf\xbd") : text.substr(i, n);
    scratch->append(piece.data(), piece.size());
    i += n == 0 ? 1 : n;
  }
  json.String(*scratch);
}

}  // namespace

void AppendRecordLine(const MessageOutcome& outcome, std::string* out) {
  const size_t start = out->size();
  std::string scratch;
  core::JsonWriter json(out);
  json.BeginObject();
  json.Key("message_id");
  if (outcome.verify.message_id.empty()) {
    json.Raw("null");
  } else {
    StringValue(json, outcome.verify.message_id, &scratch);  // <= 256 bytes (MessageVerifier)
  }
  json.Key("sender");
  StringValue(json, outcome.sender, &scratch);  // at most one command line
  json.Key("recipients");
  json.BeginArray();
  size_t omitted = 0;
  for (absl::string_view recipient : outcome.recipients) {
    // A JSON-escaped address is at most 6 bytes per input byte ("\u00XX").
    if (omitted > 0 ||
        out->size() - start + 6 * recipient.size() + 3 + kLineTailBytes > kRecordLineBytesMax) {
      ++omitted;
      continue;
    }
    StringValue(json, recipient, &scratch);
  }
  json.EndArray();
  if (omitted > 0) {
    json.Key("recipients_omitted");
    json.Number(static_cast<uint64_t>(omitted));
  }
  json.Key("bytes");
  json.Number(outcome.content_bytes);
  json.Key("checksum");
  json.String(BodyChecksum::Format(outcome.verify.computed));
  json.Key("expected");
  if (outcome.verify.has_checksum) {
    json.String(BodyChecksum::Format(outcome.verify.expected));
  } else {
    json.Raw("null");
  }
  json.Key("verified");
  json.Bool(outcome.verify.verified());
  json.Key("reply");
  if (outcome.reply == 0) {
    json.Raw("null");
  } else {
    json.Number(static_cast<int64_t>(outcome.reply));
  }
  json.EndObject();
  out->push_back('\n');
  DCHECK(out->size() - start <= kRecordLineBytesMax);
}

absl::StatusOr<std::unique_ptr<RecordWriter>> RecordWriter::Open(core::Loop* loop,
                                                                 const std::string& path) {
  ASSIGN_OR_RETURN(
      std::unique_ptr<core::AppendFile> file,
      core::AppendFile::Open(loop, path, 0644, kBufferBytesMax, absl::StrCat("--record=", path)));
  return std::unique_ptr<RecordWriter>(new RecordWriter(loop, std::move(file)));
}

RecordWriter::RecordWriter(core::Loop* loop, std::unique_ptr<core::AppendFile> file)
    : loop_(loop), file_(std::move(file)) {
  file_->set_on_written([this] { FlushOrArm(); });
}

RecordWriter::~RecordWriter() = default;

void RecordWriter::Append(const MessageOutcome& outcome) {
  line_.clear();
  AppendRecordLine(outcome, &line_);
  if (file_->Append(line_)) FlushOrArm();
}

void RecordWriter::Flush() {
  loop_->timers().Cancel(this);
  file_->Flush();
}

void RecordWriter::FlushOrArm() {
  if (file_->buffered() >= kFlushBytes) {
    Flush();
  } else if (file_->buffered() > 0 && !armed()) {
    loop_->timers().Arm(this, loop_->now() + kFlushInterval);
  }
}

}  // namespace tern::tools::tern_bench
