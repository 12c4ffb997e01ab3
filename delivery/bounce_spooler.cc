// Implementation of delivery/bounce_spooler.h.
#include "delivery/bounce_spooler.h"

#include <utility>

#include "absl/strings/str_format.h"
#include "core/byte_buffer.h"
#include "core/status_macros.h"

namespace tern::delivery {
namespace {

bool HasEightBit(absl::string_view bytes) {
  for (char c : bytes) {
    if (static_cast<unsigned char>(c) >= 0x80) return true;
  }
  return false;
}

}  // namespace

absl::Status BounceSpooler::Spool(const BouncedMessage& message,
                                  std::span<const DsnRecipient> recipients, absl::Time now,
                                  Done done) {
  const std::string token = absl::StrFormat("%016X", message.queue_id);
  DsnRequest request{
      .reporting_mta = reporting_mta_,
      .original_sender = message.sender,
      .envid = message.envid,
      .arrival = message.arrival,
      .now = now,
      .recipients = recipients,
      .original_message = message.stored_message,
      .return_full = message.dsn_ret == 1,
      .unique_token = token,
  };
  const std::string dsn = BuildDsn(request);

  const uint64_t id = spool_->NextQueueId();
  spool::RecipientEnvelope to{.address = message.sender};
  spool::MessageEnvelope envelope{
      .received_unix_us = absl::ToUnixMicros(now),
      .client_address = "",
      .helo = reporting_mta_,
      .sender = "",
      .recipients = std::span<const spool::RecipientEnvelope>(&to, 1),
      .body_type = HasEightBit(dsn) ? spool::BodyType::kEightBitMime : spool::BodyType::kSevenBit,
      .smtputf8 = HasEightBit(message.sender),
  };
  core::ByteBuffer record;
  RETURN_IF_ERROR(spool_->BeginMessage(id, envelope, &record));
  record.Append(dsn);
  spool_->CommitMessage(id, std::move(record),
                        [id, done = std::move(done)](absl::Status status) mutable {
                          if (!status.ok()) {
                            done(status);
                            return;
                          }
                          done(id);
                        });
  return absl::OkStatus();
}

}  // namespace tern::delivery
