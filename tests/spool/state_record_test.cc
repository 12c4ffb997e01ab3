// State record codec: every result state and HOLD/RELEASE round trip, truncation at every
// length fails cleanly, strings are truncated to their bounds on encode and rejected past
// them on decode.
#include "spool/state_record.h"

#include <algorithm>
#include <string>

#include "gtest/gtest.h"
#include "spool/little_endian.h"
#include "spool/record_codec.h"

namespace tern::spool {
namespace {

RecipientResult Sample(RecipientState state) {
  RecipientResult r;
  r.recipient = 7;
  r.state = state;
  r.attempts = 3;
  r.next_attempt_unix_us = 1'700'000'123'456'789;
  r.reply_code = 451;
  r.enhanced_code = "4.7.1";
  r.reply_text = "Greylisted, try again later";
  r.destination_host = "mx1.example.net";
  return r;
}

TEST(StateRecord, EveryResultStateRoundTrips) {
  for (RecipientState state : {RecipientState::kDelivered, RecipientState::kDeferred,
                               RecipientState::kBounced, RecipientState::kExpired}) {
    core::ByteBuffer record;
    EncodeRecipientResult(42, Sample(state), &record);
    RecordView rv;
    ASSERT_EQ(DecodeRecord(record.view(), &rv), DecodeResult::kOk);
    EXPECT_EQ(rv.type, RecordTypeOfResult(state));
    EXPECT_EQ(rv.queue_id, 42u);
    RecipientResultView out;
    ASSERT_TRUE(DecodeRecipientResult(rv.type, rv.payload, &out));
    EXPECT_EQ(out.state, state);
    EXPECT_EQ(out.recipient, 7u);
    EXPECT_EQ(out.attempts, 3u);
    // Only DEFERRED carries a next attempt.
    EXPECT_EQ(out.next_attempt_unix_us,
              state == RecipientState::kDeferred ? 1'700'000'123'456'789 : 0);
    EXPECT_EQ(out.reply_code, 451);
    EXPECT_EQ(out.enhanced_code, "4.7.1");
    EXPECT_EQ(out.reply_text, "Greylisted, try again later");
    EXPECT_EQ(out.destination_host, "mx1.example.net");
    bool held;
    int64_t at;
    EXPECT_FALSE(DecodeHold(rv.type, rv.payload, &held, &at));
  }
}

TEST(StateRecord, TruncatedAtEveryLengthIsRejected) {
  core::ByteBuffer record;
  EncodeRecipientResult(1, Sample(RecipientState::kDeferred), &record);
  const absl::string_view payload = record.view().substr(kRecordHeaderBytes);
  RecipientResultView out;
  for (size_t n = 0; n < payload.size(); ++n) {
    EXPECT_FALSE(DecodeRecipientResult(RecordType::kDeferred, payload.substr(0, n), &out)) << n;
  }
  // One byte too many is rejected too: the payload ends exactly after reply_text.
  std::string longer(payload);
  longer.push_back('x');
  EXPECT_FALSE(DecodeRecipientResult(RecordType::kDeferred, longer, &out));
  // And a MESSAGE type is not a result.
  EXPECT_FALSE(DecodeRecipientResult(RecordType::kMessage, payload, &out));
}

TEST(StateRecord, StringsAreTruncatedToTheirBoundsOnEncode) {
  const std::string text(kReplyTextBytesMax + 100, 't');
  const std::string host(kDestinationHostBytesMax + 1, 'h');
  const std::string code(kEnhancedCodeBytesMax + 5, '5');
  RecipientResult r = Sample(RecipientState::kBounced);
  r.reply_text = text;
  r.destination_host = host;
  r.enhanced_code = code;
  core::ByteBuffer record;
  EncodeRecipientResult(9, r, &record);
  EXPECT_EQ(record.size(), kRecordHeaderBytes + kRecipientResultPayloadBytesMax);
  RecordView rv;
  ASSERT_EQ(DecodeRecord(record.view(), &rv), DecodeResult::kOk);
  RecipientResultView out;
  ASSERT_TRUE(DecodeRecipientResult(rv.type, rv.payload, &out));
  EXPECT_EQ(out.reply_text, text.substr(0, kReplyTextBytesMax));
  EXPECT_EQ(out.destination_host, host.substr(0, kDestinationHostBytesMax));
  EXPECT_EQ(out.enhanced_code, code.substr(0, kEnhancedCodeBytesMax));
}

TEST(StateRecord, LengthsPastTheBoundsAreRejectedOnDecode) {
  // A hand-made payload whose reply text claims kReplyTextBytesMax + 1 bytes (and has them).
  std::string payload(kRecipientResultFixedBytes, '\0');
  payload[0] = static_cast<char>(kStateRecordVersion);
  payload += std::string(1, '\0');  // enhanced code: empty
  payload += std::string(1, '\0');  // host: empty
  char len[2];
  StoreLE16(len, kReplyTextBytesMax + 1);
  payload.append(len, 2);
  payload += std::string(kReplyTextBytesMax + 1, 'x');
  RecipientResultView out;
  EXPECT_FALSE(DecodeRecipientResult(RecordType::kDelivered, payload, &out));
  // The same with the bound itself is fine.
  StoreLE16(&payload[kRecipientResultFixedBytes + 2], kReplyTextBytesMax);
  payload.pop_back();
  EXPECT_TRUE(DecodeRecipientResult(RecordType::kDelivered, payload, &out));
  // An enhanced code over its bound.
  std::string bad_code(kRecipientResultFixedBytes, '\0');
  bad_code[0] = static_cast<char>(kStateRecordVersion);
  bad_code.push_back(static_cast<char>(kEnhancedCodeBytesMax + 1));
  bad_code += std::string(kEnhancedCodeBytesMax + 1, '4');
  bad_code += std::string(3, '\0');
  EXPECT_FALSE(DecodeRecipientResult(RecordType::kDelivered, bad_code, &out));
  // A wrong version.
  payload[0] = 9;
  EXPECT_FALSE(DecodeRecipientResult(RecordType::kDelivered, payload, &out));
}

TEST(StateRecord, HoldAndReleaseRoundTripAndRejectTruncation) {
  for (bool held : {true, false}) {
    core::ByteBuffer record;
    EncodeHold(5, held, 1'234'567, &record);
    RecordView rv;
    ASSERT_EQ(DecodeRecord(record.view(), &rv), DecodeResult::kOk);
    EXPECT_EQ(rv.type, held ? RecordType::kHold : RecordType::kRelease);
    bool out_held = !held;
    int64_t at = 0;
    ASSERT_TRUE(DecodeHold(rv.type, rv.payload, &out_held, &at));
    EXPECT_EQ(out_held, held);
    EXPECT_EQ(at, 1'234'567);
    for (size_t n = 0; n < rv.payload.size(); ++n) {
      EXPECT_FALSE(DecodeHold(rv.type, rv.payload.substr(0, n), &out_held, &at)) << n;
    }
    RecipientResultView r;
    EXPECT_FALSE(DecodeRecipientResult(rv.type, rv.payload, &r));
  }
}

TEST(StateRecord, TimedHoldRoundTripsAndOldHoldsReadAsUntilReleased) {
  core::ByteBuffer timed;
  EncodeHold(5, true, 1'000, &timed, 9'000'000);
  RecordView rv;
  ASSERT_EQ(DecodeRecord(timed.view(), &rv), DecodeResult::kOk);
  EXPECT_EQ(rv.payload.size(), kTimedHoldPayloadBytes);
  bool held = false;
  int64_t at = 0;
  int64_t until = 0;
  ASSERT_TRUE(DecodeHold(rv.type, rv.payload, &held, &at, &until));
  EXPECT_TRUE(held);
  EXPECT_EQ(at, 1'000);
  EXPECT_EQ(until, 9'000'000);
  for (size_t n = 0; n < rv.payload.size(); ++n) {
    EXPECT_FALSE(DecodeHold(rv.type, rv.payload.substr(0, n), &held, &at, &until)) << n;
  }
  // A version 2 payload on a RELEASE, or with no end, is malformed.
  EXPECT_FALSE(DecodeHold(RecordType::kRelease, rv.payload, &held, &at, &until));
  std::string no_end(rv.payload);
  std::fill(no_end.begin() + 16, no_end.end(), '\0');
  EXPECT_FALSE(DecodeHold(rv.type, no_end, &held, &at, &until));

  // A version 1 HOLD (as every earlier ternd wrote) has no end: held until released.
  core::ByteBuffer old;
  EncodeHold(5, true, 1'000, &old);
  ASSERT_EQ(DecodeRecord(old.view(), &rv), DecodeResult::kOk);
  EXPECT_EQ(rv.payload.size(), kHoldPayloadBytes);
  until = 77;
  ASSERT_TRUE(DecodeHold(rv.type, rv.payload, &held, &at, &until));
  EXPECT_TRUE(held);
  EXPECT_EQ(until, 0);
}

TEST(StateRecord, RecordTypesMapBothWays) {
  for (RecipientState state : {RecipientState::kDelivered, RecipientState::kDeferred,
                               RecipientState::kBounced, RecipientState::kExpired}) {
    RecipientState back = RecipientState::kPending;
    ASSERT_TRUE(ResultStateOfRecordType(RecordTypeOfResult(state), &back));
    EXPECT_EQ(back, state);
  }
  RecipientState s;
  EXPECT_FALSE(ResultStateOfRecordType(RecordType::kHold, &s));
  EXPECT_FALSE(ResultStateOfRecordType(RecordType::kMessage, &s));
}

}  // namespace
}  // namespace tern::spool
