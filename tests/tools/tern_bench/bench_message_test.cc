// MessageFactory and MessageVerifier: sizes, stuffing, and verification in any split.
#include "tools/tern_bench/bench_message.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"

namespace tern::tools::tern_bench {
namespace {

// Undoes dot-stuffing of a DATA body ending with ".\r\n".
std::string Unstuff(std::string wire) {
  EXPECT_TRUE(absl::EndsWith(wire, "\r\n.\r\n"));
  wire.resize(wire.size() - 3);
  std::string out;
  bool line_start = true;
  for (char c : wire) {
    if (line_start && c == '.') {
      line_start = false;
      continue;  // the stuffing dot
    }
    out.push_back(c);
    line_start = c == '\n';
  }
  return out;
}

VerifyResult VerifyInPieces(const std::string& content, size_t piece) {
  MessageVerifier verifier;
  for (size_t i = 0; i < content.size(); i += piece) {
    verifier.Update(absl::string_view(content).substr(i, piece));
  }
  return verifier.Finish();
}

TEST(MessageFactoryTest, SizesAreHonouredAndFormsAgree) {
  MessageFactory factory("run1", 3, 1 << 20);
  GeneratedMessage m;
  for (size_t size :
       {size_t{1}, size_t{300}, size_t{1000}, size_t{4096}, size_t{65536}, size_t{1} << 20}) {
    factory.Build(7, size, "a@example.com", "b@example.net", true, true, &m);
    if (size >= 400) {
      EXPECT_GE(m.content.size() + 1, size);
      EXPECT_LE(m.content.size(), size + 1);
    }
    EXPECT_EQ(Unstuff(m.data_wire), m.content) << size;
    EXPECT_EQ(m.size, m.content.size());
    EXPECT_EQ(m.message_id, "run1.3.7@tern-bench");
    EXPECT_TRUE(absl::StrContains(m.content, "Message-ID: <run1.3.7@tern-bench>\r\n"));
    EXPECT_TRUE(absl::StrContains(
        m.content, absl::StrCat(kChecksumHeader, ": ", BodyChecksum::Format(m.checksum))));
  }
  // Large bodies carry dot lines, so stuffing is exercised.
  EXPECT_TRUE(absl::StrContains(m.data_wire, "\r\n.."));
}

TEST(MessageFactoryTest, MessagesDiffer) {
  MessageFactory factory("run1", 0, 8192);
  GeneratedMessage a, b;
  factory.Build(1, 4096, "a@x", "b@y", true, false, &a);
  factory.Build(2, 4096, "a@x", "b@y", true, false, &b);
  EXPECT_NE(a.message_id, b.message_id);
  EXPECT_NE(a.checksum, b.checksum);
  EXPECT_TRUE(b.data_wire.empty());
}

TEST(MessageVerifierTest, VerifiesInAnySplit) {
  MessageFactory factory("r", 1, 8192);
  GeneratedMessage m;
  factory.Build(42, 5000, "a@example.com", "b@example.net", true, false, &m);
  for (size_t piece :
       {size_t{1}, size_t{2}, size_t{3}, size_t{7}, size_t{64}, size_t{4096}, size_t{100000}}) {
    const VerifyResult r = VerifyInPieces(m.content, piece);
    EXPECT_TRUE(r.verified()) << piece;
    EXPECT_EQ(r.message_id, "r.1.42@tern-bench");
    EXPECT_EQ(r.expected, m.checksum);
  }
}

TEST(MessageVerifierTest, AddedHeadersDoNotMatterButBodyChangesDo) {
  MessageFactory factory("r", 1, 8192);
  GeneratedMessage m;
  factory.Build(1, 3000, "a@example.com", "b@example.net", true, false, &m);
  const std::string relayed =
      absl::StrCat("Received: from x by y;\r\n\tMon, 23 Nov 2026 10:00:00 +0000\r\n", m.content);
  EXPECT_TRUE(VerifyInPieces(relayed, 5).verified());

  std::string tampered = m.content;
  tampered[tampered.size() - 10] ^= 1;
  const VerifyResult bad = VerifyInPieces(tampered, 11);
  EXPECT_TRUE(bad.has_checksum);
  EXPECT_FALSE(bad.verified());

  std::string truncated = m.content.substr(0, m.content.size() - 2);
  EXPECT_FALSE(VerifyInPieces(truncated, 100).verified());
}

TEST(MessageVerifierTest, MessagesWithoutTheHeaderOrHeadersEndAreReported) {
  const VerifyResult plain = VerifyInPieces("Subject: hi\r\n\r\nbody\r\n", 3);
  EXPECT_FALSE(plain.has_checksum);
  EXPECT_TRUE(plain.headers_complete);
  EXPECT_FALSE(plain.verified());
  EXPECT_EQ(plain.body_bytes, 6u);

  const VerifyResult no_end = VerifyInPieces("Subject: hi\r\nMessage-ID: <x@y>\r\n", 4);
  EXPECT_FALSE(no_end.headers_complete);
  EXPECT_EQ(no_end.message_id, "x@y");

  const std::string huge_header(MessageVerifier::kHeaderBytesMax + 100, 'h');
  const VerifyResult overflow = VerifyInPieces(huge_header, 1000);
  EXPECT_FALSE(overflow.headers_complete);
  EXPECT_FALSE(overflow.verified());
}

TEST(MessageVerifierTest, FoldedHeadersAndCaseInsensitiveNames) {
  const std::string body = "the body\r\n";
  const std::string content =
      absl::StrCat("message-id:\r\n <folded@id>\r\nx-tern-bench-checksum: ",
                   BodyChecksum::Format(BodyChecksum::Of(body)), "\r\n\r\n", body);
  const VerifyResult r = VerifyInPieces(content, 2);
  EXPECT_EQ(r.message_id, "folded@id");
  EXPECT_TRUE(r.verified());
}

TEST(MessageVerifierTest, ResetsBetweenMessages) {
  MessageVerifier verifier;
  verifier.Update("Message-ID: <a@b>\r\n\r\nx");
  EXPECT_EQ(verifier.Finish().message_id, "a@b");
  verifier.Update("\r\nno headers");
  const VerifyResult r = verifier.Finish();
  EXPECT_TRUE(r.message_id.empty());
  EXPECT_EQ(r.body_bytes, 10u);
}

}  // namespace
}  // namespace tern::tools::tern_bench
