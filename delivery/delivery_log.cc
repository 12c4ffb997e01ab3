// Implementation of delivery/delivery_log.h.
#include "delivery/delivery_log.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/json_writer.h"
#include "core/status_macros.h"

namespace tern::delivery {

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
  if (!e.bounce_class.empty()) {
    json.Key("class");
    json.String(e.bounce_class);
  }
  for (const auto& [key, value] : {std::pair<const char*, absl::string_view>{"source", e.source},
                                   {"pool", e.pool},
                                   {"site", e.site},
                                   {"provider", e.provider}}) {
    if (value.empty()) continue;
    json.Key(key);
    json.String(value);
  }
  if (e.throttled > absl::ZeroDuration()) {
    json.Key("throttled_ms");
    json.Number(absl::ToInt64Milliseconds(e.throttled));
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
  ASSIGN_OR_RETURN(std::unique_ptr<core::AppendFile> file,
                   core::AppendFile::Open(loop, path, 0640, kBufferBytesMax,
                                          absl::StrCat("delivery log ", path)));
  // What was buffered while a write was in flight goes in the next iteration's write.
  file->set_on_written([loop, raw = file.get()] {
    if (raw->buffered() > 0) loop->WakeSoon();
  });
  std::unique_ptr<DeliveryLog> log(new DeliveryLog(std::move(file), path));
  std::shared_ptr<DeliveryLog*> target = log->hook_target_;
  loop->AddIterationHook([target] {
    if (*target != nullptr) (*target)->Flush();
  });
  return log;
}

DeliveryLog::DeliveryLog(std::unique_ptr<core::AppendFile> file, std::string path)
    : file_(std::move(file)),
      path_(std::move(path)),
      hook_target_(std::make_shared<DeliveryLog*>(this)) {}

DeliveryLog::~DeliveryLog() { *hook_target_ = nullptr; }

void DeliveryLog::Append(const DeliveryEvent& event) { AppendLine(FormatDeliveryEvent(event)); }

void DeliveryLog::AppendLine(absl::string_view line) { file_->Append(line); }

void DeliveryLog::Flush() { file_->Flush(); }

absl::Status DeliveryLog::Reopen() { return file_->Reopen(path_, 0640); }

}  // namespace tern::delivery
