// LoadedMessage::FromRecord: the checks on a MESSAGE record read back for delivery.
#include "spool/loaded_message.h"

#include "absl/strings/str_cat.h"
#include "spool/record_codec.h"

namespace tern::spool {

absl::StatusOr<LoadedMessage> LoadedMessage::FromRecord(uint64_t queue_id, const RecordLocation& at,
                                                        absl::string_view segment_path,
                                                        core::ByteBuffer record) {
  auto fail = [&](absl::string_view why) {
    return absl::DataLossError(absl::StrCat("spool ", segment_path, " offset ", at.offset,
                                            ": message ", queue_id, ": ", why));
  };
  RecordView rv;
  const DecodeResult result = DecodeRecord(record.view(), &rv);
  if (result != DecodeResult::kOk) return fail(DecodeResultName(result));
  if (rv.record_bytes != at.record_bytes || rv.record_bytes != record.size()) {
    return fail("record length differs from the index");
  }
  if (rv.type != RecordType::kMessage) return fail("not a MESSAGE record");
  if (rv.queue_id != queue_id) return fail(absl::StrCat("record of queue id ", rv.queue_id));
  LoadedMessage m;
  m.queue_id_ = queue_id;
  m.location_ = at;
  m.bytes_ = std::move(record);
  // Parse after the move: the views point into the buffer's heap block, which moves along.
  if (!m.view_.Parse(m.bytes_.view().substr(kRecordHeaderBytes))) return fail("bad envelope");
  return m;
}

}  // namespace tern::spool
