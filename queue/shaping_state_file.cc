// Implementation of queue/shaping_state_file.h.
#include "queue/shaping_state_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <fstream>
#include <optional>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "queue/replace_file.h"
#include "spool/errno_status.h"

namespace tern::queue {
namespace {

using Json = nlohmann::json;

constexpr char kHeaderKey[] = "tern_shaping_state";
constexpr int64_t kFormatVersion = 1;
// Bounds of decoded values: the policy's own ranges, and times within 1970..2400.
constexpr int64_t kUnixMsMax = int64_t{13'569'465'600'000};
constexpr int64_t kDurationMsMax = int64_t{100} * 366 * 24 * 3600 * 1000;
constexpr int64_t kPeriodMsMax = int64_t{366} * 24 * 3600 * 1000;
constexpr size_t kRetryScheduleBytesMax = 1024;

int64_t Ms(absl::Duration d) { return absl::ToInt64Milliseconds(d); }

Json EncodeRate(const RateSpec& rate) {
  return Json{{"count", rate.count}, {"period_ms", Ms(rate.period)}, {"burst", rate.burst}};
}

Json EncodeOptions(const ShapingOptions& o) {
  Json j = Json::object();
  if (o.connection_limit) j["connection_limit"] = *o.connection_limit;
  if (o.max_message_rate) j["max_message_rate"] = EncodeRate(*o.max_message_rate);
  if (o.max_connection_rate) j["max_connection_rate"] = EncodeRate(*o.max_connection_rate);
  if (o.max_deliveries_per_connection) {
    j["max_deliveries_per_connection"] = *o.max_deliveries_per_connection;
  }
  if (o.retry_schedule) j["retry_schedule"] = *o.retry_schedule;
  if (o.max_queue_lifetime) j["max_queue_lifetime_ms"] = Ms(*o.max_queue_lifetime);
  if (o.consecutive_connection_failures_before_delay) {
    j["consecutive_connection_failures_before_delay"] =
        *o.consecutive_connection_failures_before_delay;
  }
  if (o.connection_failure_delay) {
    j["connection_failure_delay_ms"] = Ms(*o.connection_failure_delay);
  }
  if (o.connection_failure_delay_max) {
    j["connection_failure_delay_max_ms"] = Ms(*o.connection_failure_delay_max);
  }
  return j;
}

// Reads typed, range-checked fields of one JSON object; the first problem is kept in
// error() ("key: what") and later reads return nothing.
class FieldReader {
 public:
  explicit FieldReader(const Json& object) : object_(object) {}

  std::optional<int64_t> Int(const char* key, int64_t min, int64_t max, bool required) {
    const Json* value = Find(key, required);
    if (value == nullptr) return std::nullopt;
    int64_t out = 0;
    if (value->is_number_unsigned()) {
      const uint64_t u = value->get<uint64_t>();
      if (u > static_cast<uint64_t>(INT64_MAX)) return Fail(key, "out of range");
      out = static_cast<int64_t>(u);
    } else if (value->is_number_integer()) {
      out = value->get<int64_t>();
    } else {
      return Fail(key, "not an integer");
    }
    if (out < min || out > max) {
      return Fail(key, absl::StrCat("out of range ", min, "..", max));
    }
    return out;
  }

  std::optional<std::string> String(const char* key, size_t bytes_max, bool required) {
    const Json* value = Find(key, required);
    if (value == nullptr) return std::nullopt;
    if (!value->is_string()) return Fail(key, "not a string");
    const std::string& s = value->get_ref<const std::string&>();
    if (s.size() > bytes_max) return Fail(key, absl::StrCat("longer than ", bytes_max, " bytes"));
    return s;
  }

  const Json* Object(const char* key, bool required) {
    const Json* value = Find(key, required);
    if (value == nullptr) return nullptr;
    if (!value->is_object()) {
      Fail(key, "not an object");
      return nullptr;
    }
    return value;
  }

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  void Adopt(const std::string& prefix, const FieldReader& inner) {
    if (ok() && !inner.ok()) error_ = absl::StrCat(prefix, ".", inner.error());
  }

 private:
  const Json* Find(const char* key, bool required) {
    if (!ok()) return nullptr;
    auto it = object_.find(key);
    if (it == object_.end()) {
      if (required) Fail(key, "missing");
      return nullptr;
    }
    return &*it;
  }
  std::nullopt_t Fail(const char* key, absl::string_view what) {
    if (ok()) error_ = absl::StrCat(key, ": ", what);
    return std::nullopt;
  }

  const Json& object_;
  std::string error_;
};

std::optional<RateSpec> DecodeRate(FieldReader& outer, const char* key) {
  const Json* object = outer.Object(key, false);
  if (object == nullptr) return std::nullopt;
  FieldReader r(*object);
  const int64_t count_max = static_cast<int64_t>(RateSpec::kCountMax);
  const auto count = r.Int("count", 1, count_max, true);
  const auto period_ms = r.Int("period_ms", 1, kPeriodMsMax, true);
  const auto burst = r.Int("burst", 1, count_max, true);
  outer.Adopt(key, r);
  if (!r.ok()) return std::nullopt;
  RateSpec rate;
  rate.count = static_cast<uint64_t>(*count);
  rate.period = absl::Milliseconds(*period_ms);
  rate.burst = static_cast<uint64_t>(*burst);
  return rate;
}

template <typename T>
void SetIf(std::optional<T>& into, const std::optional<int64_t>& from) {
  if (from) into = static_cast<T>(*from);
}

void SetDurationIf(std::optional<absl::Duration>& into, const std::optional<int64_t>& ms) {
  if (ms) into = absl::Milliseconds(*ms);
}

ShapingOptions DecodeOptions(FieldReader& outer) {
  ShapingOptions o;
  const Json* object = outer.Object("options", false);
  if (object == nullptr) return o;
  FieldReader r(*object);
  SetIf(o.connection_limit, r.Int("connection_limit", 1, 100'000, false));
  o.max_message_rate = DecodeRate(r, "max_message_rate");
  o.max_connection_rate = DecodeRate(r, "max_connection_rate");
  SetIf(o.max_deliveries_per_connection,
        r.Int("max_deliveries_per_connection", 1, 1'000'000, false));
  o.retry_schedule = r.String("retry_schedule", kRetryScheduleBytesMax, false);
  SetDurationIf(o.max_queue_lifetime, r.Int("max_queue_lifetime_ms", 0, kDurationMsMax, false));
  SetIf(o.consecutive_connection_failures_before_delay,
        r.Int("consecutive_connection_failures_before_delay", 1, 1000, false));
  SetDurationIf(o.connection_failure_delay,
                r.Int("connection_failure_delay_ms", 0, kDurationMsMax, false));
  SetDurationIf(o.connection_failure_delay_max,
                r.Int("connection_failure_delay_max_ms", 0, kDurationMsMax, false));
  outer.Adopt("options", r);
  return o;
}

// One entry line; the error ("key: what") in `error` when it is not one.
std::optional<ShapingOverride> DecodeEntry(const Json& line, std::string* error) {
  if (!line.is_object()) {
    *error = "not a JSON object";
    return std::nullopt;
  }
  FieldReader r(line);
  ShapingOverride entry;
  const auto source = r.String("source", ShapingOverride::kKeyBytesMax, true);
  const auto scope = r.String("scope", ShapingOverride::kKeyBytesMax, true);
  const auto kind = r.String("kind", 16, true);
  const auto until_ms = r.Int("until_unix_ms", 0, kUnixMsMax, true);
  entry.options = DecodeOptions(r);
  if (const Json* ramp = r.Object("ramp_up", false); ramp != nullptr) {
    FieldReader rr(*ramp);
    const auto steps = rr.Int("steps", 1, RampUp::kStepsMax, true);
    const auto over_ms = rr.Int("over_ms", 1, kDurationMsMax, true);
    r.Adopt("ramp_up", rr);
    if (rr.ok()) {
      entry.ramp_up = RampUp{static_cast<uint32_t>(*steps), absl::Milliseconds(*over_ms)};
    }
  }
  const auto reason = r.String("reason", ShapingOverride::kReasonBytesMax, false);
  const auto cause = r.String("cause", ShapingOverride::kReasonBytesMax, false);
  if (!r.ok()) {
    *error = r.error();
    return std::nullopt;
  }
  if (*scope == "") {
    *error = "scope: empty";
    return std::nullopt;
  }
  if (*kind == "suspend") {
    entry.kind = ShapingOverride::Kind::kSuspend;
    entry.options = ShapingOptions{};  // a suspension has none (never written for one)
  } else if (*kind == "set") {
    entry.kind = ShapingOverride::Kind::kSet;
  } else {
    *error = "kind: neither suspend nor set";
    return std::nullopt;
  }
  entry.source = *source;
  entry.scope = *scope;
  entry.until = absl::FromUnixMillis(*until_ms);
  entry.reason = reason.value_or("");
  entry.cause = cause.value_or("");
  return entry;
}

}  // namespace

absl::string_view KindName(ShapingOverride::Kind kind) {
  return kind == ShapingOverride::Kind::kSuspend ? "suspend" : "set";
}

std::string EncodeShapingState(const std::vector<ShapingOverride>& overrides) {
  std::string out = absl::StrCat("{\"", kHeaderKey, "\":", kFormatVersion, "}\n");
  for (const ShapingOverride& o : overrides) {
    Json line = {{"source", o.source},
                 {"scope", o.scope},
                 {"kind", std::string(KindName(o.kind))},
                 {"until_unix_ms", absl::ToUnixMillis(o.until)}};
    if (o.kind == ShapingOverride::Kind::kSet) line["options"] = EncodeOptions(o.options);
    if (o.ramp_up)
      line["ramp_up"] = {{"steps", o.ramp_up->steps}, {"over_ms", Ms(o.ramp_up->over)}};
    line["reason"] = o.reason;
    line["cause"] = o.cause;
    // Replies may hold bytes that are not UTF-8: replaced, never a throw.
    out += line.dump(-1, ' ', false, Json::error_handler_t::replace);
    out += '\n';
  }
  return out;
}

absl::StatusOr<std::vector<ShapingOverride>> DecodeShapingState(absl::string_view text,
                                                                absl::string_view file_name,
                                                                absl::Time now) {
  auto bad = [&](size_t line_number, absl::string_view what) {
    return absl::DataLossError(absl::StrCat(file_name, ":", line_number, ": ", what));
  };
  if (text.size() > kShapingStateFileBytesMax) {
    return bad(0, absl::StrCat("larger than ", kShapingStateFileBytesMax, " bytes"));
  }
  std::vector<ShapingOverride> entries;
  size_t line_number = 0;
  bool header_seen = false;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    if (line.empty()) continue;  // the last newline, or blank lines
    if (line.size() > kShapingStateLineBytesMax) {
      return bad(line_number, absl::StrCat("line longer than ", kShapingStateLineBytesMax));
    }
    const Json json = Json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded()) return bad(line_number, "not valid JSON");
    if (!header_seen) {
      auto version = json.is_object() ? json.find(kHeaderKey) : json.end();
      if (!json.is_object() || version == json.end()) {
        return bad(line_number, absl::StrCat("no {\"", kHeaderKey, "\":N} header"));
      }
      if (!version->is_number_integer() || version->get<int64_t>() != kFormatVersion) {
        return bad(line_number,
                   absl::StrCat("unknown format version (this Tern reads ", kFormatVersion, ")"));
      }
      header_seen = true;
      continue;
    }
    if (entries.size() >= kShapingStateEntriesMax) {
      return bad(line_number, absl::StrCat("more than ", kShapingStateEntriesMax, " entries"));
    }
    std::string error;
    std::optional<ShapingOverride> entry = DecodeEntry(json, &error);
    if (!entry) return bad(line_number, error);
    if (entry->end() > now) entries.push_back(std::move(*entry));
  }
  return entries;  // a file without a line is no state
}

absl::Status SaveShapingState(const std::string& path,
                              const std::vector<ShapingOverride>& overrides) {
  return ReplaceFile(path, EncodeShapingState(overrides), 0640);
}

absl::StatusOr<std::vector<ShapingOverride>> LoadShapingState(const std::string& path,
                                                              absl::Time now) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return std::vector<ShapingOverride>{};
    return spool::ErrnoStatus("stat", path, errno);
  }
  if (static_cast<uint64_t>(st.st_size) > kShapingStateFileBytesMax) {
    return absl::DataLossError(
        absl::StrCat(path, ": larger than ", kShapingStateFileBytesMax, " bytes"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return spool::ErrnoStatus("open", path, errno);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return spool::ErrnoStatus("read", path, errno);
  return DecodeShapingState(text.str(), path, now);
}

}  // namespace tern::queue
