// MessageSink: where an SMTP session hands the messages it receives. The shard implements it
// on top of its spool (spool/shard_spool.h); tests implement it in memory. This interface is
// the only thing the SMTP code knows about storage.
//
// One message's life, as the session drives it:
//   1. MAIL: CheckAcceptingMail() (a full disk answers 452 4.3.1 here, before any data).
//   2. DATA / first BDAT: BeginMessage(envelope, &record) writes the record header and the
//      envelope into `record` and returns the queue id. The session then appends the body
//      to `record` as it arrives: first its Received: header, then the body, CRLF line
//      endings, dot-stuffed, without the terminating ".\r\n".
//   2b. Only for a sink whose WantsHeaderSection() is true: once the body's header section
//      is in `record` (up to its empty line, or the whole body when it has none), the session
//      calls OnHeaderSection(&record, body_begin, header_end) once, so that the sink can
//      look at the header fields and rewrite that part of the record (the egress pool
//      header, delivery/message_pool_resolver.h). Later body bytes are appended after
//      whatever the record then holds. A refusal is answered at the end of the data.
//   3. End of data: CommitMessage(queue_id, std::move(record), waiter). The sink finalizes
//      the record and puts it in the current group commit; waiter->OnCommitted(status) is
//      called later, on the same thread, once the fdatasync covering it completed (OK) or
//      failed (not OK). Only then may the session answer 250 (or 451 4.3.0).
//   A message rejected or abandoned before step 3 is simply dropped with its buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/byte_buffer.h"

namespace tern::net::smtp {

// RFC 6152 / RFC 6531 body properties declared at MAIL.
enum class BodyType : uint8_t { kSevenBit = 0, kEightBitMime = 1 };

// One recipient of an EnvelopeView, with its RFC 3461 parameters.
struct EnvelopeRecipient {
  absl::string_view address;  // dequoted "local@domain"
  uint8_t notify = 0;         // NOTIFY= as DsnNotify bits (client_commands.h); 0 if absent
  absl::string_view orcpt;    // ORCPT= "addr-type;xtext" as received (xtext); empty if absent
};

// The envelope of one message, as views valid only during BeginMessage().
struct EnvelopeView {
  absl::string_view helo;            // the EHLO/HELO argument
  absl::string_view client_address;  // "192.0.2.1" or "2001:db8::1"
  absl::string_view sender;          // dequoted "local@domain"; empty for <>
  std::span<const EnvelopeRecipient> recipients;
  BodyType body_type = BodyType::kSevenBit;
  bool smtputf8 = false;
  uint64_t declared_size = 0;  // the SIZE= parameter, 0 if absent
  // RFC 3461: RET= as DsnRet (0 absent, 1 FULL, 2 HDRS), ENVID= as received (still xtext,
  // what the client side sends on); the same values as spool::MessageEnvelope's.
  uint8_t dsn_ret = 0;
  absl::string_view envid;  // empty if absent
  // The authenticated user's egress pool (AuthBackend::PoolOf); empty: none or no AUTH.
  absl::string_view auth_pool;
};

class CommitWaiter {
 public:
  virtual ~CommitWaiter() = default;
  // OK: the message is durable (answer 250). Otherwise it is not stored (answer 451 4.3.0).
  virtual void OnCommitted(absl::Status status) = 0;
};

class MessageSink {
 public:
  virtual ~MessageSink() = default;
  // OK, or ResourceExhausted when the spool cannot take mail now (disk full: 452 4.3.1),
  // or Unavailable when the spool failed (451 4.3.0).
  virtual absl::Status CheckAcceptingMail() = 0;
  // Starts a message: appends the record header and envelope to `record` (which must be
  // empty) and returns the message's queue id.
  virtual absl::StatusOr<uint64_t> BeginMessage(const EnvelopeView& envelope,
                                                core::ByteBuffer* record) = 0;
  // Whether the session should call OnHeaderSection() for every message (read once per
  // message, at BeginMessage). False costs the session nothing per byte.
  virtual bool WantsHeaderSection() const { return false; }
  // record[body_begin, header_end) is the header section of the body (the session's
  // Received: first, the empty line included); bytes after header_end are body received
  // so far. The sink may change the record anywhere (it stays a begun message record). OK,
  // or InvalidArgument with the reason: the message is then refused with "554 5.3.0
  // REASON" at the end of its data, and `record` is dropped.
  virtual absl::Status OnHeaderSection(core::ByteBuffer* /*record*/, size_t /*body_begin*/,
                                       size_t /*header_end*/) {
    return absl::OkStatus();
  }
  // Finishes the message whose body is now complete in `record`. `waiter` must stay alive
  // until its OnCommitted() has been called, which is never before CommitMessage returns.
  virtual void CommitMessage(uint64_t queue_id, core::ByteBuffer record, CommitWaiter* waiter) = 0;
};

}  // namespace tern::net::smtp
