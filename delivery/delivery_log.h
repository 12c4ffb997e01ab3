// DeliveryLog: the operator's record of what happened to every message, one JSON object per
// line (received, delivered, deferred, bounced, expired), appended to one file shared by all
// shards. Each shard owns a DeliveryLog on its own ring: events are formatted into a buffer
// and written with one O_APPEND write per loop iteration (the kernel keeps each write whole,
// so lines of different shards never interleave). No fsync: the spool, not this log, is
// what makes mail durable.
//
//   ASSIGN_OR_RETURN(auto log, DeliveryLog::Open(loop, "var/log/delivery.jsonl"));
//   DeliveryEvent e{.event = "delivered", .queue_id = id, .recipient = rcpt, ...};
//   log->Append(e);
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "core/append_file.h"
#include "core/loop.h"

namespace tern::delivery {

struct DeliveryEvent {
  absl::string_view event;  // "received", "delivered", "deferred", "bounced", "expired"
  uint64_t queue_id = 0;
  absl::string_view message_id;  // the Message-ID header, or empty
  absl::string_view sender;
  absl::string_view recipient;     // empty for message-level events ("received")
  int recipients = 0;              // for "received": how many
  uint64_t size = 0;               // message bytes
  absl::string_view client;        // for "received": the client address
  absl::string_view destination;   // the MX host (or route) tried
  absl::string_view reply;         // the remote reply, or our own reason
  absl::string_view bounce_class;  // of a failure: "bad-mailbox" (delivery/bounce_class.h)
  // Shaping (results only; empty when none): the egress source and pool, the site scope
  // ("site:mx1,mx2", "domain:D", "route:H:P"), the provider block, and how long the job
  // waited for its throttles.
  absl::string_view source;
  absl::string_view pool;
  absl::string_view site;
  absl::string_view provider;
  absl::Duration throttled = absl::ZeroDuration();
  int attempts = 0;
  absl::Duration delay = absl::ZeroDuration();  // since the message was received
  absl::Time time = absl::Now();
};

class DeliveryLog {
 public:
  // Bytes buffered at most while a write is in flight; beyond, events are dropped and
  // counted (the log must never hold up mail or grow memory without bound).
  static constexpr size_t kBufferBytesMax = 8 << 20;

  static absl::StatusOr<std::unique_ptr<DeliveryLog>> Open(core::Loop* loop,
                                                           const std::string& path);
  ~DeliveryLog();
  DeliveryLog(const DeliveryLog&) = delete;
  DeliveryLog& operator=(const DeliveryLog&) = delete;

  void Append(const DeliveryEvent& event);
  // Appends a line already formatted by FormatDeliveryEvent().
  void AppendLine(absl::string_view line);
  // Writes what is buffered (also done at every loop iteration).
  void Flush();
  // SIGHUP (logrotate): appends go to a file opened again at the same path.
  absl::Status Reopen();
  // True when nothing is buffered or in flight (the owner waits for this at shutdown).
  bool idle() const { return file_->idle(); }
  uint64_t dropped_events() const { return file_->dropped_appends(); }
  uint64_t write_errors() const { return file_->write_errors(); }

 private:
  DeliveryLog(std::unique_ptr<core::AppendFile> file, std::string path);

  std::unique_ptr<core::AppendFile> file_;
  std::string path_;
  std::shared_ptr<DeliveryLog*> hook_target_;  // cleared on destruction
};

// One event as a JSON line (with the trailing newline).
std::string FormatDeliveryEvent(const DeliveryEvent& event);

}  // namespace tern::delivery
