// Helpers for the spool tests: a fresh temporary directory per test, message records, and a
// bounded run of a core::Loop (stops when a condition holds, or after a deadline).
#pragma once

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/byte_buffer.h"
#include "core/loop.h"
#include "gtest/gtest.h"
#include "spool/message_record.h"
#include "spool/queue_index.h"
#include "spool/record_codec.h"
#include "spool/segment_files.h"
#include "tests/core/temp_files.h"

namespace tern::spool::testing {

// A directory removed when the test ends, named for these tests.
class TempDir : public tern::core::testing::TempDir {
 public:
  TempDir() : tern::core::testing::TempDir("spool_test") {}
};
using tern::core::testing::ReadFile;
using tern::core::testing::WriteFile;

inline uint64_t FileSize(const std::string& path) {
  struct stat st;
  CHECK(::stat(path.c_str(), &st) == 0);
  return static_cast<uint64_t>(st.st_size);
}

// A body for message `i`: distinct, CRLF lines, `bytes` long (at least ~32).
inline std::string Body(int i, size_t bytes = 200) {
  std::string body = absl::StrCat("Subject: message ", i, "\r\n\r\n");
  while (body.size() + 2 < bytes) body.push_back(static_cast<char>('a' + (body.size() + i) % 26));
  body += "\r\n";
  return body;
}

inline const RecipientEnvelope kTwoRecipients[] = {
    {"alice@example.org", kNotifyFailure | kNotifyDelay, "rfc822;alice@example.org"},
    {"bob@example.net", 0, ""},
};

inline MessageEnvelope Envelope() {
  MessageEnvelope e;
  e.received_unix_us = 1'700'000'000'000'000;
  e.client_address = "192.0.2.7";
  e.helo = "client.example.com";
  e.sender = "sender@example.com";
  e.recipients = kTwoRecipients;
  e.body_type = BodyType::kEightBitMime;
  e.smtputf8 = true;
  e.dsn_ret = 2;
  e.envid = "env-1";
  return e;
}

// A complete MESSAGE record.
inline core::ByteBuffer MessageRecord(uint64_t queue_id, absl::string_view body) {
  core::ByteBuffer record;
  CHECK(BeginMessageRecord(queue_id, Envelope(), &record).ok());
  record.Append(body);
  FinishRecord(&record);
  return record;
}

// The body stored at a queue entry's location in a shard directory, read with plain I/O.
inline std::string StoredBody(const std::string& shard_dir, const QueueEntry& e) {
  const std::string seg = ReadFile(SegmentPath(shard_dir, e.location().segment));
  if (e.location().offset >= seg.size()) return "<beyond the end of the segment>";
  RecordView rv;
  if (DecodeRecord(absl::string_view(seg).substr(e.location().offset), &rv) != DecodeResult::kOk) {
    return "<bad record>";
  }
  MessageRecordView m;
  return m.Parse(rv.payload) ? std::string(m.body()) : "<bad envelope>";
}

// Runs `loop` until `done()` holds (checked after every iteration) or `timeout` passes.
// A Loop can run once (Stop is final), so call this once per loop. False on timeout.
inline bool RunUntil(core::Loop* loop, std::function<bool()> done,
                     absl::Duration timeout = absl::Seconds(20)) {
  struct Watchdog final : core::Timer {
    core::Loop* loop;
    bool fired = false;
    void OnTimer() override {
      fired = true;
      loop->Stop();
    }
  };
  Watchdog watchdog;
  watchdog.loop = loop;
  loop->timers().Arm(&watchdog, absl::Now() + timeout);
  auto shared_done = std::make_shared<std::function<bool()>>(std::move(done));
  loop->AddIterationHook([loop, shared_done] {
    if ((*shared_done)()) loop->Stop();
  });
  loop->Wake();  // the first iteration must not wait for a completion that never comes
  loop->Run();
  loop->timers().Cancel(&watchdog);
  return !watchdog.fired;
}

}  // namespace tern::spool::testing
