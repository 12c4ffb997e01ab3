// Record codec: round trip, and every way a record can fail to decode.
#include "spool/record_codec.h"

#include <string>

#include "gtest/gtest.h"
#include "spool/little_endian.h"

namespace tern::spool {
namespace {

std::string Record(RecordType type, uint64_t id, absl::string_view payload) {
  core::ByteBuffer buf;
  StartRecord(type, id, &buf);
  buf.Append(payload);
  FinishRecord(&buf);
  return std::string(buf.view());
}

TEST(RecordCodec, RoundTrip) {
  const std::string bytes = Record(RecordType::kHold, 0x0123456789abcdef, "payload bytes");
  ASSERT_EQ(bytes.size(), kRecordHeaderBytes + 13);
  EXPECT_EQ(LoadLE32(bytes.data()), kRecordMagic);
  RecordView view;
  const std::string with_trailer = bytes + std::string(10, 'x');  // the view points into it
  ASSERT_EQ(DecodeRecord(with_trailer, &view), DecodeResult::kOk);
  EXPECT_EQ(view.type, RecordType::kHold);
  EXPECT_EQ(view.queue_id, 0x0123456789abcdefu);
  EXPECT_EQ(view.flags, 0u);
  EXPECT_EQ(view.payload, "payload bytes");
  EXPECT_EQ(view.record_bytes, bytes.size());
}

TEST(RecordCodec, EmptyPayload) {
  const std::string bytes = Record(RecordType::kRelease, 7, "");
  RecordView view;
  ASSERT_EQ(DecodeRecord(bytes, &view), DecodeResult::kOk);
  EXPECT_TRUE(view.payload.empty());
}

TEST(RecordCodec, ZerosAreEndOfData) {
  RecordView view;
  EXPECT_EQ(DecodeRecord(std::string(100, '\0'), &view), DecodeResult::kEndOfData);
  EXPECT_EQ(DecodeRecord(std::string(5, '\0'), &view), DecodeResult::kEndOfData);
  EXPECT_EQ(DecodeRecord("", &view), DecodeResult::kEndOfData);
}

TEST(RecordCodec, TruncatedAtEveryLength) {
  const std::string bytes = Record(RecordType::kMessage, 1, std::string(100, 'm'));
  RecordView view;
  for (size_t n = 1; n < bytes.size(); ++n) {
    EXPECT_EQ(DecodeRecord(absl::string_view(bytes).substr(0, n), &view), DecodeResult::kTruncated)
        << n;
  }
}

TEST(RecordCodec, EveryFlippedBitIsCorrupt) {
  const std::string good = Record(RecordType::kMessage, 42, "some payload here");
  RecordView view;
  for (size_t i = 0; i < good.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = good;
      bad[i] ^= static_cast<char>(1 << bit);
      const DecodeResult r = DecodeRecord(bad, &view);
      // A flipped length bit may also make the record run past the end.
      if (i >= kRecordLengthOffset && i < kRecordLengthOffset + 4) {
        EXPECT_TRUE(r == DecodeResult::kCorrupt || r == DecodeResult::kTruncated) << i;
      } else {
        EXPECT_EQ(r, DecodeResult::kCorrupt) << i << " bit " << bit;
      }
    }
  }
}

TEST(RecordCodec, UnknownTypeAndHugeLengthAreCorrupt) {
  std::string bad = Record(RecordType::kMessage, 1, "x");
  bad[kRecordTypeOffset] = 99;
  RecordView view;
  EXPECT_EQ(DecodeRecord(bad, &view), DecodeResult::kCorrupt);
  bad = Record(RecordType::kMessage, 1, "x");
  StoreLE32(bad.data() + kRecordLengthOffset, 0xFFFFFFF0u);
  EXPECT_EQ(DecodeRecord(bad, &view), DecodeResult::kCorrupt);
  bad = Record(RecordType::kMessage, 1, "x");
  bad[0] = 0;  // zero magic with a non-zero type is not preallocated space
  bad[1] = bad[2] = bad[3] = 0;
  EXPECT_EQ(DecodeRecord(bad, &view), DecodeResult::kCorrupt);
}

}  // namespace
}  // namespace tern::spool
