// BounceSpooler: turns failed recipients of a spooled message into an RFC 3464 DSN and
// spools it, from the null sender <> to the message's sender, like any other mail (it goes
// through the same group commit and queue). The caller records the recipients as BOUNCED
// or EXPIRED only after the DSN is durable, so a crash between the two can duplicate a
// bounce but never lose one. Never call it for a message from <> (no bounce for a bounce).
//
//   BounceSpooler bounces(spool, "relay.example.com");
//   RETURN_IF_ERROR(bounces.Spool(original, failed, now, [](absl::StatusOr<uint64_t> id) {}));
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "delivery/dsn_builder.h"
#include "spool/message_record.h"
#include "spool/shard_spool.h"

namespace tern::delivery {

// What a DSN needs of the failed message (views valid during Spool()).
struct BouncedMessage {
  uint64_t queue_id = 0;
  absl::string_view sender;  // the DSN's recipient; never empty
  absl::string_view envid;
  uint8_t dsn_ret = 0;  // RFC 3461 RET: 1 FULL, 2 HDRS, 0 absent (headers only)
  absl::Time arrival;
  absl::string_view stored_message;  // the body as stored, or empty when unreadable
};

class BounceSpooler {
 public:
  using Done = absl::AnyInvocable<void(absl::StatusOr<uint64_t> dsn_queue_id)>;

  BounceSpooler(spool::ShardSpool* spool, std::string reporting_mta)
      : spool_(spool), reporting_mta_(std::move(reporting_mta)) {}

  // Builds and commits the DSN; `done` gets its queue id once durable (it is then in the
  // spool's index), or why it could not be spooled, from the loop. An error returned here
  // (the envelope cannot be stored) means `done` is never called.
  absl::Status Spool(const BouncedMessage& message, std::span<const DsnRecipient> recipients,
                     absl::Time now, Done done);

 private:
  spool::ShardSpool* spool_;
  std::string reporting_mta_;
};

}  // namespace tern::delivery
