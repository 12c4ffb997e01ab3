// AttemptHistory: notes per message in order and capped, replies interned and released,
// untrusted reply bytes (NUL, separators) kept exactly.
#include "spool/attempt_history.h"

#include <string>

#include "gtest/gtest.h"

namespace tern::spool {
namespace {

AttemptNote Note(uint32_t attempt, std::string text, std::string host = "mx.example.net") {
  AttemptNote note;
  note.at_unix_us = 1'000'000 * attempt;
  note.attempt = attempt;
  note.reply_code = 451;
  note.enhanced_code = "4.3.0";
  note.reply_text = std::move(text);
  note.destination_host = std::move(host);
  return note;
}

TEST(AttemptHistoryTest, KeepsTheLastNotesInOrder) {
  AttemptHistory history;
  for (uint32_t i = 1; i <= AttemptHistory::kNotesPerMessage + 3; ++i) {
    history.Add(7, Note(i, "451 try later"));
  }
  const std::vector<AttemptNote> notes = history.Of(7);
  ASSERT_EQ(notes.size(), AttemptHistory::kNotesPerMessage);
  EXPECT_EQ(notes.front().attempt, 4u);
  EXPECT_EQ(notes.back().attempt, AttemptHistory::kNotesPerMessage + 3);
  EXPECT_EQ(notes.back().reply_text, "451 try later");
  EXPECT_EQ(notes.back().enhanced_code, "4.3.0");
  EXPECT_EQ(notes.back().destination_host, "mx.example.net");
  EXPECT_TRUE(history.Of(8).empty());
}

TEST(AttemptHistoryTest, SameRepliesAreSharedAndReleased) {
  AttemptHistory history;
  for (uint64_t id = 1; id <= 1000; ++id) {
    history.Add(id, Note(1, "451 4.3.0 the same outage"));
    history.Add(id, Note(2, "451 4.3.0 the same outage", "mx2.example.net"));
  }
  EXPECT_EQ(history.messages(), 1000u);
  EXPECT_EQ(history.replies(), 2u);
  for (uint64_t id = 1; id <= 999; ++id) history.Erase(id);
  EXPECT_EQ(history.replies(), 2u);
  history.Erase(1000);
  EXPECT_EQ(history.replies(), 0u);
  EXPECT_EQ(history.messages(), 0u);
  // A freed slot is reused.
  history.Add(5, Note(1, "other"));
  EXPECT_EQ(history.Of(5).front().reply_text, "other");
  EXPECT_EQ(history.replies(), 1u);
}

TEST(AttemptHistoryTest, UntrustedBytesRoundTrip) {
  AttemptHistory history;
  const std::string nasty("451 a\0b:3:c", 11);
  history.Add(1, Note(1, nasty, std::string("h\0st", 4)));
  history.Add(1, Note(2, std::string(500, 'x')));
  const std::vector<AttemptNote> notes = history.Of(1);
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_EQ(notes[0].reply_text, nasty);
  EXPECT_EQ(notes[0].destination_host, std::string("h\0st", 4));
  EXPECT_EQ(notes[1].reply_text.size(), AttemptNote::kReplyTextKept);
}

}  // namespace
}  // namespace tern::spool
