// CRC-32C against RFC 3720 appendix B.4 and the hardware/table implementations against
// each other.
#include "spool/crc32c.h"

#include <cstdint>
#include <string>

#include "gtest/gtest.h"

namespace tern::spool::crc32c {
namespace {

TEST(Crc32c, Rfc3720Vectors) {
  uint8_t buf[32];
  for (auto& b : buf) b = 0;
  EXPECT_EQ(Value(buf, sizeof(buf)), 0x8A9136AAu);
  for (auto& b : buf) b = 0xFF;
  EXPECT_EQ(Value(buf, sizeof(buf)), 0x62A8AB43u);
  for (int i = 0; i < 32; ++i) buf[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(Value(buf, sizeof(buf)), 0x46DD794Eu);
  for (int i = 0; i < 32; ++i) buf[i] = static_cast<uint8_t>(31 - i);
  EXPECT_EQ(Value(buf, sizeof(buf)), 0x113FDB5Cu);
  // An iSCSI SCSI Read (10) command PDU.
  const uint8_t read_pdu[48] = {0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00,
                                0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00,
                                0x00, 0x18, 0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  EXPECT_EQ(Value(read_pdu, sizeof(read_pdu)), 0xD9963A56u);
  EXPECT_EQ(Value("123456789", 9), 0xE3069283u);
}

TEST(Crc32c, PortableMatchesDispatchAtEveryLengthAndAlignment) {
  std::string data;
  for (int i = 0; i < 300; ++i) data.push_back(static_cast<char>(i * 7 + 3));
  for (size_t start = 0; start < 9; ++start) {
    for (size_t n = 0; start + n <= data.size(); n += 13) {
      EXPECT_EQ(Value(data.data() + start, n), ExtendPortable(0, data.data() + start, n));
    }
  }
}

TEST(Crc32c, ExtendEqualsWhole) {
  const std::string data = "The quick brown fox jumps over the lazy dog, twice over.";
  for (size_t split = 0; split <= data.size(); ++split) {
    EXPECT_EQ(Extend(Value(data.data(), split), data.data() + split, data.size() - split),
              Value(data.data(), data.size()));
  }
}

}  // namespace
}  // namespace tern::spool::crc32c
