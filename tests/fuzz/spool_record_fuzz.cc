// libFuzzer entry point for the spool's record decoding (spool/record_codec.h,
// message_record.h, state_record.h): arbitrary segment bytes, as recovery reads them. Must
// never crash or read outside the input, and a decoded record must fit in what was given.
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "spool/message_record.h"
#include "spool/record_codec.h"
#include "spool/state_record.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  // Walk the segment as recovery does: record after record until the end or damage.
  for (int records = 0; records < 4096 && !bytes.empty(); ++records) {
    tern::spool::RecordView record;
    if (tern::spool::DecodeRecord(bytes, &record) != tern::spool::DecodeResult::kOk) break;
    if (record.record_bytes == 0 || record.record_bytes > bytes.size()) __builtin_trap();
    tern::spool::MessageRecordView message;
    if (record.type == tern::spool::RecordType::kMessage && message.Parse(record.payload)) {
      tern::spool::RecipientView recipient;
      for (auto it = message.recipients(); it.Next(&recipient);) {
      }
    }
    tern::spool::RecipientResultView result;
    tern::spool::DecodeRecipientResult(record.type, record.payload, &result);
    bool held = false;
    int64_t at = 0;
    int64_t until = 0;
    tern::spool::DecodeHold(record.type, record.payload, &held, &at, &until);
    bytes.remove_prefix(record.record_bytes);
  }
  // The payload parsers also see raw bytes directly (a checksum is no guarantee of sense).
  const absl::string_view raw(reinterpret_cast<const char*>(data), size);
  tern::spool::MessageRecordView message;
  if (message.Parse(raw)) {
    tern::spool::RecipientView recipient;
    for (auto it = message.recipients(); it.Next(&recipient);) {
    }
  }
  tern::spool::RecipientResultView result;
  tern::spool::DecodeRecipientResult(tern::spool::RecordType::kDeferred, raw, &result);
  bool held = false;
  int64_t at = 0;
  int64_t until = 0;
  tern::spool::DecodeHold(tern::spool::RecordType::kHold, raw, &held, &at, &until);
  return 0;
}
