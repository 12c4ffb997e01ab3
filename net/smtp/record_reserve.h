// RecordBytesToReserve: how much room a session reserves for a message's record when the
// client declared its size (RFC 1870 SIZE=) at MAIL, so that the record is one allocation
// and the body is never copied while it grows. The reserve is bounded: a client may
// declare any size up to the limit and send less, so at most kReserveFromSizeMax is
// reserved up front; a larger message grows from there as one without SIZE= does.
//
//   record.Reserve(RecordBytesToReserve(declared, config.max_message_size, arena.size()));
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace tern::net::smtp {

// The most reserved from a declared size (bytes of body).
inline constexpr uint64_t kReserveFromSizeMax = uint64_t{1} << 20;
// Room for the record header, the fixed envelope fields and the Received: trace field.
inline constexpr size_t kRecordOverheadBytes = 1024;

// 0 when nothing was declared. `max_message_size` 0 means unlimited; `envelope_bytes` is
// what the addresses and parameters take.
inline size_t RecordBytesToReserve(uint64_t declared_size, uint64_t max_message_size,
                                   size_t envelope_bytes) {
  if (declared_size == 0) return 0;
  uint64_t body = std::min(declared_size, kReserveFromSizeMax);
  if (max_message_size != 0) body = std::min(body, max_message_size);
  // Stored bytes are dot-stuffed, which SIZE= does not count: a little room for it.
  return kRecordOverheadBytes + envelope_bytes + static_cast<size_t>(body + body / 64);
}

}  // namespace tern::net::smtp
