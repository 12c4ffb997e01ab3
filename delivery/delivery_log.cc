// Implementation of delivery/delivery_log.h.
#include "delivery/delivery_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/check.h"
#include "core/json_writer.h"
#include "core/log.h"

namespace tern::delivery {

class DeliveryLog::WriteDone : public core::Completion {
 public:
  explicit WriteDone(DeliveryLog* log) : log_(log) {}
  void OnComplete(int32_t res, uint32_t flags) override { log_->OnWritten(res); }

 private:
  DeliveryLog* log_;
};

std::string FormatDeliveryEvent(const DeliveryEvent& e) {
  std::string out;
  core::JsonWriter json(&out);
  json.BeginObject();
  json.Key("time");
  json.String(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", e.time, absl::UTCTimeZone()));
  json.Key("event");
  json.String(e.event);
  json.Key("queue_id");
  json.String(absl::StrFormat("%016X", e.queue_id));
  if (!e.message_id.empty()) {
    json.Key("message_id");
    json.String(e.message_id);
  }
  json.Key("sender");
  json.String(e.sender);
  if (!e.recipient.empty()) {
    json.Key("recipient");
    json.String(e.recipient);
  }
  if (e.recipients > 0) {
    json.Key("recipients");
    json.Number(static_cast<int64_t>(e.recipients));
  }
  if (e.size > 0) {
    json.Key("size");
    json.Number(e.size);
  }
  if (!e.client.empty()) {
    json.Key("client");
    json.String(e.client);
  }
  if (!e.destination.empty()) {
    json.Key("destination");
    json.String(e.destination);
  }
  if (!e.reply.empty()) {
    json.Key("reply");
    json.String(e.reply);
  }
  if (e.attempts > 0) {
    json.Key("attempts");
    json.Number(static_cast<int64_t>(e.attempts));
  }
  if (e.delay > absl::ZeroDuration()) {
    json.Key("delay_ms");
    json.Number(absl::ToInt64Milliseconds(e.delay));
  }
  json.EndObject();
  out.push_back('\n');
  return out;
}

absl::StatusOr<std::unique_ptr<DeliveryLog>> DeliveryLog::Open(core::Loop* loop,
                                                               const std::string& path) {
  // Start-up: a blocking open is fine here.
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) {
    return absl::UnavailableError(absl::StrCat("open delivery log ", path, ": ", strerror(errno)));
  }
  std::unique_ptr<DeliveryLog> log(new DeliveryLog(loop, fd, path));
  std::shared_ptr<DeliveryLog*> target = log->hook_target_;
  loop->AddIterationHook([target] {
    if (*target != nullptr) (*target)->Flush();
  });
  return log;
}

DeliveryLog::DeliveryLog(core::Loop* loop, int fd, std::string path)
    : loop_(loop),
      fd_(fd),
      path_(std::move(path)),
      write_done_(std::make_unique<WriteDone>(this)),
      hook_target_(std::make_shared<DeliveryLog*>(this)) {}

DeliveryLog::~DeliveryLog() {
  // The owner waits for idle() first; a write still in flight would complete into a freed
  // Completion.
  CHECK(!write_in_flight_);
  *hook_target_ = nullptr;
  close(fd_);
}

void DeliveryLog::Append(const DeliveryEvent& event) { AppendLine(FormatDeliveryEvent(event)); }

void DeliveryLog::AppendLine(absl::string_view line) {
  if (pending_.size() + line.size() > kBufferBytesMax) {
    if (dropped_events_++ % 10000 == 0) {
      TERN_LOG(kWarning, "delivery log %s is not keeping up: dropping events (%d so far)", path_,
               dropped_events_);
    }
    return;
  }
  pending_.append(line.data(), line.size());
}

void DeliveryLog::Flush() {
  if (write_in_flight_ || pending_.empty()) return;
  in_flight_.swap(pending_);
  pending_.clear();
  in_flight_done_ = 0;
  write_in_flight_ = true;
  io_uring_sqe* sqe = loop_->PrepareSqe(write_done_.get());
  // Offset -1: the file position, i.e. the end with O_APPEND.
  io_uring_prep_write(sqe, fd_, in_flight_.data(), static_cast<unsigned>(in_flight_.size()),
                      static_cast<uint64_t>(-1));
}

void DeliveryLog::OnWritten(int32_t res) {
  CHECK(write_in_flight_);
  write_in_flight_ = false;
  if (res < 0) {
    if (write_errors_++ % 1000 == 0) {
      TERN_LOG(kError, "delivery log %s: write: %s", path_, strerror(-res));
    }
  } else if (static_cast<size_t>(res) < in_flight_.size()) {
    // A short append: put the rest back in front so the next write carries it.
    pending_.insert(0, in_flight_, static_cast<size_t>(res), std::string::npos);
  }
  in_flight_.clear();
  if (!pending_.empty()) loop_->WakeSoon();
}

}  // namespace tern::delivery
