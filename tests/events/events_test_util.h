// Helpers shared by the events tests: a scratch directory, events, and appending to a
// journal and waiting until durable.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "events/event.h"
#include "events/event_journal.h"
#include "gtest/gtest.h"

namespace tern::events {

inline std::string ScratchDirectory() {
  std::string pattern = ::testing::TempDir() + "tern-events-XXXXXX";
  char* made = ::mkdtemp(pattern.data());
  EXPECT_NE(made, nullptr);
  return pattern;
}

// A scratch directory removed with everything in it at the end of the scope.
class ScratchDir {
 public:
  ScratchDir() : path_(ScratchDirectory()) {}
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline Event TestEvent(int n, size_t metadata_bytes = 0) {
  Event event;
  event.type = static_cast<EventType>(1 + n % kEventTypeMax);
  event.event_id = NewEventId();
  event.queue_id = 0xabc000 + n;
  event.message_id = absl::StrCat("<m", n, "@example.com>");
  event.sender = "bounces@example.com";
  event.recipient = absl::StrCat("user", n, "@example.net");
  event.reply = "250 2.0.0 ok";
  event.destination = "mx.example.net";
  event.egress_source = "ip1";
  event.egress_pool = "default";
  event.attempts = n % 5;
  // Whole microseconds: the journal keeps times at that precision.
  event.event_time = absl::FromUnixMicros(absl::ToUnixMicros(absl::Now()));
  event.received_time = event.event_time - absl::Seconds(3);
  if (metadata_bytes > 0)
    event.metadata = absl::StrCat("{\"pad\":\"", std::string(metadata_bytes, 'x'), "\"}");
  return event;
}

inline absl::Status AppendAndWait(EventJournal* journal, std::vector<Event> events) {
  absl::Notification done;
  absl::Status result;
  absl::Status queued = journal->Append(std::move(events), [&](absl::Status durable) {
    result = durable;
    done.Notify();
  });
  if (!queued.ok()) return queued;
  done.WaitForNotification();
  return result;
}

inline std::vector<std::string> SegmentFiles(const std::string& directory) {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(directory)) {
    if (entry.path().extension() == ".evj") files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace tern::events
