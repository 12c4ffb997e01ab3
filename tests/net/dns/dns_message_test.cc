// Tests of net/dns/dns_message.h: answers built byte by byte, including hostile ones
// (pointer loops, overlong names, lengths past the end), and name normalization.
#include "net/dns/dns_message.h"

#include <arpa/inet.h>

#include <cstdint>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace tern::net::dns {
namespace {

// Builds a DNS reply: one question, then answer records.
class MessageBuilder {
 public:
  explicit MessageBuilder(const std::string& qname, uint16_t qtype, uint16_t answers_claimed)
      : answers_claimed_(answers_claimed) {
    bytes_ = {0x12, 0x34, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0};
    Name(qname);
    U16(qtype);
    U16(kClassIn);
  }
  void Name(const std::string& name) {
    size_t start = 0;
    while (start < name.size()) {
      size_t dot = name.find('.', start);
      if (dot == std::string::npos) dot = name.size();
      bytes_.push_back(static_cast<uint8_t>(dot - start));
      for (size_t i = start; i < dot; ++i) bytes_.push_back(static_cast<uint8_t>(name[i]));
      start = dot + 1;
    }
    bytes_.push_back(0);
  }
  void Pointer(uint16_t offset) {
    bytes_.push_back(static_cast<uint8_t>(0xC0 | (offset >> 8)));
    bytes_.push_back(static_cast<uint8_t>(offset & 0xFF));
  }
  void U16(uint16_t v) {
    bytes_.push_back(static_cast<uint8_t>(v >> 8));
    bytes_.push_back(static_cast<uint8_t>(v));
  }
  void U32(uint32_t v) {
    U16(static_cast<uint16_t>(v >> 16));
    U16(static_cast<uint16_t>(v));
  }
  // A record whose owner is a pointer to the question name (offset 12).
  void RecordHeader(uint16_t type, uint32_t ttl, uint16_t rdata_bytes) {
    Pointer(kHeaderBytes);
    U16(type);
    U16(kClassIn);
    U32(ttl);
    U16(rdata_bytes);
  }
  void Mx(uint16_t preference, const std::string& host, uint32_t ttl) {
    RecordHeader(kTypeMx, ttl, static_cast<uint16_t>(2 + WireLength(host)));
    U16(preference);
    Name(host);
  }
  void A(const char* text, uint32_t ttl) {
    RecordHeader(kTypeA, ttl, 4);
    in_addr a;
    inet_pton(AF_INET, text, &a);
    const auto* p = reinterpret_cast<const uint8_t*>(&a);
    bytes_.insert(bytes_.end(), p, p + 4);
  }
  std::vector<uint8_t> Build() {
    std::vector<uint8_t> out = bytes_;
    out[6] = static_cast<uint8_t>(answers_claimed_ >> 8);
    out[7] = static_cast<uint8_t>(answers_claimed_);
    return out;
  }
  std::vector<uint8_t>& bytes() { return bytes_; }

  static size_t WireLength(const std::string& name) { return name.empty() ? 1 : name.size() + 2; }

 private:
  std::vector<uint8_t> bytes_;
  uint16_t answers_claimed_;
};

TEST(DnsMessage, MxRecordsWithPreferencesAndMinimumTtl) {
  MessageBuilder b("example.com", kTypeMx, 2);
  b.Mx(20, "mx2.example.com", 300);
  b.Mx(10, "MX1.Example.COM", 120);
  auto mx = ExtractMx(b.Build(), "example.com");
  ASSERT_TRUE(mx.ok()) << mx.status();
  ASSERT_EQ(mx->hosts.size(), 2u);
  EXPECT_EQ(mx->hosts[0].preference, 20);
  EXPECT_EQ(mx->hosts[0].host, "mx2.example.com");
  EXPECT_EQ(mx->hosts[1].host, "mx1.example.com");  // lower-cased
  EXPECT_EQ(mx->ttl_s, 120u);
}

TEST(DnsMessage, NullMxIsTheRootName) {
  MessageBuilder b("example.com", kTypeMx, 1);
  b.Mx(0, "", 60);
  auto mx = ExtractMx(b.Build(), "example.com");
  ASSERT_TRUE(mx.ok()) << mx.status();
  ASSERT_EQ(mx->hosts.size(), 1u);
  EXPECT_EQ(mx->hosts[0].host, ".");
  EXPECT_EQ(mx->hosts[0].preference, 0);
}

TEST(DnsMessage, CompressedExchangerName) {
  MessageBuilder b("example.com", kTypeMx, 1);
  // rdata: preference, "mx" label, pointer to the question name.
  b.RecordHeader(kTypeMx, 60, 2 + 3 + 2);
  b.U16(5);
  b.bytes().push_back(2);
  b.bytes().push_back('m');
  b.bytes().push_back('x');
  b.Pointer(kHeaderBytes);
  auto mx = ExtractMx(b.Build(), "example.com");
  ASSERT_TRUE(mx.ok()) << mx.status();
  ASSERT_EQ(mx->hosts.size(), 1u);
  EXPECT_EQ(mx->hosts[0].host, "mx.example.com");
}

TEST(DnsMessage, CnameChainIsFollowed) {
  MessageBuilder b("alias.com", kTypeA, 2);
  const size_t cname_rdata = b.bytes().size() + 12;
  b.RecordHeader(kTypeCname, 30, static_cast<uint16_t>(MessageBuilder::WireLength("real.com")));
  b.Name("real.com");
  b.Pointer(static_cast<uint16_t>(cname_rdata));  // owner: real.com
  b.U16(kTypeA);
  b.U16(kClassIn);
  b.U32(300);
  b.U16(4);
  for (uint8_t byte : {192, 0, 2, 7}) b.bytes().push_back(byte);
  auto addresses = ExtractAddresses(b.Build(), "alias.com");
  ASSERT_TRUE(addresses.ok()) << addresses.status();
  ASSERT_EQ(addresses->ipv4.size(), 1u);
  EXPECT_EQ(addresses->ttl_s, 30u);  // the CNAME's TTL bounds the answer
}

TEST(DnsMessage, RecordsOfOtherNamesAreIgnored) {
  MessageBuilder b("example.com", kTypeA, 1);
  b.bytes().push_back(5);
  for (char c : std::string("other")) b.bytes().push_back(static_cast<uint8_t>(c));
  b.bytes().push_back(0);
  b.U16(kTypeA);
  b.U16(kClassIn);
  b.U32(60);
  b.U16(4);
  for (uint8_t byte : {192, 0, 2, 1}) b.bytes().push_back(byte);
  auto addresses = ExtractAddresses(b.Build(), "example.com");
  ASSERT_TRUE(addresses.ok());
  EXPECT_TRUE(addresses->ipv4.empty());
}

TEST(DnsMessage, TtlWithTopBitIsZero) {
  MessageBuilder b("example.com", kTypeA, 1);
  b.A("192.0.2.1", 0x80000001u);
  auto addresses = ExtractAddresses(b.Build(), "example.com");
  ASSERT_TRUE(addresses.ok());
  EXPECT_EQ(addresses->ttl_s, 0u);
}

TEST(DnsMessage, PointerLoopIsRejected) {
  MessageBuilder b("example.com", kTypeMx, 1);
  const uint16_t self = static_cast<uint16_t>(b.bytes().size());
  b.Pointer(self);  // the owner name points at itself
  auto records = ParseAnswerSection(b.Build());
  EXPECT_FALSE(records.ok());
}

TEST(DnsMessage, OverlongNameIsRejected) {
  std::string name;
  for (int i = 0; i < 5; ++i) name += std::string(60, 'a') + ".";
  name += "com";
  MessageBuilder b(name, kTypeA, 0);
  EXPECT_FALSE(ParseAnswerSection(b.Build()).ok());
}

TEST(DnsMessage, RdataPastTheEndIsRejected) {
  MessageBuilder b("example.com", kTypeA, 1);
  b.RecordHeader(kTypeA, 60, 400);
  b.U32(0);
  EXPECT_FALSE(ParseAnswerSection(b.Build()).ok());
}

TEST(DnsMessage, ClaimedAnswersBeyondTheMessageAreRejected) {
  MessageBuilder b("example.com", kTypeA, 3);
  b.A("192.0.2.1", 60);
  EXPECT_FALSE(ParseAnswerSection(b.Build()).ok());
}

TEST(DnsMessage, MxNameOverrunningItsRdataIsRejected) {
  MessageBuilder b("example.com", kTypeMx, 1);
  b.RecordHeader(kTypeMx, 60, 3);  // claims 3 bytes, the name takes more
  b.U16(10);
  b.Name("mx.example.com");
  EXPECT_FALSE(ExtractMx(b.Build(), "example.com").ok());
}

TEST(DnsMessage, EveryTruncationFailsCleanly) {
  MessageBuilder b("example.com", kTypeMx, 2);
  b.Mx(10, "mx1.example.com", 60);
  b.Mx(20, "mx2.example.com", 60);
  const std::vector<uint8_t> full = b.Build();
  ASSERT_TRUE(ExtractMx(full, "example.com").ok());
  for (size_t n = 0; n < full.size(); ++n) {
    std::vector<uint8_t> cut(full.begin(), full.begin() + n);
    EXPECT_FALSE(ExtractMx(cut, "example.com").ok()) << "length " << n;
  }
}

TEST(DnsMessage, NormalizeName) {
  EXPECT_EQ(*NormalizeName("Example.COM."), "example.com");
  EXPECT_EQ(*NormalizeName("_dmarc.x-y.test"), "_dmarc.x-y.test");
  EXPECT_FALSE(NormalizeName("").ok());
  EXPECT_FALSE(NormalizeName(".").ok());
  EXPECT_FALSE(NormalizeName("a..b").ok());
  EXPECT_FALSE(NormalizeName("a b.com").ok());
  EXPECT_FALSE(NormalizeName("[192.0.2.1]").ok());
  EXPECT_FALSE(NormalizeName(std::string(64, 'a') + ".com").ok());
  EXPECT_TRUE(NormalizeName(std::string(63, 'a') + ".com").ok());
  std::string long_name;
  while (long_name.size() < 260) long_name += "abcdefghi.";
  EXPECT_FALSE(NormalizeName(long_name).ok());
}

}  // namespace
}  // namespace tern::net::dns
