// LoadedMessage: one MESSAGE record read back from its segment, verified (checksum, type,
// queue id, envelope), owning its bytes. The delivery code sends body() as stored: it is
// already CRLF and dot-stuffed, and it is a view into the bytes read, never a copy. The
// views stay valid as long as the LoadedMessage, which may be moved.
//
//   spool->ReadMessage(id, [](absl::StatusOr<LoadedMessage> m) {
//     if (!m.ok()) return Defer(m.status());        // DataLoss names segment and offset
//     Send(m->view().sender(), m->body());
//   });
#pragma once

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/byte_buffer.h"
#include "spool/message_record.h"
#include "spool/record_location.h"

namespace tern::spool {

class LoadedMessage {
 public:
  // Verifies `record` (the bytes at `at`) as the MESSAGE record of `queue_id`. DataLoss
  // naming `segment_path` and the offset when it is not.
  static absl::StatusOr<LoadedMessage> FromRecord(uint64_t queue_id, const RecordLocation& at,
                                                  absl::string_view segment_path,
                                                  core::ByteBuffer record);

  LoadedMessage(LoadedMessage&&) noexcept = default;
  LoadedMessage& operator=(LoadedMessage&&) noexcept = default;

  uint64_t queue_id() const { return queue_id_; }
  const RecordLocation& location() const { return location_; }
  const MessageRecordView& view() const { return view_; }
  absl::string_view body() const { return view_.body(); }
  // The whole record as stored (header, envelope, body).
  absl::string_view record() const { return bytes_.view(); }

 private:
  LoadedMessage() = default;

  uint64_t queue_id_ = 0;
  RecordLocation location_;
  core::ByteBuffer bytes_;  // heap bytes: moving the buffer keeps view_ valid
  MessageRecordView view_;
};

}  // namespace tern::spool
