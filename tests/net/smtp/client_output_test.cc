// Tests of net/smtp/client_output.h: order, external ranges by reference, partial sends.
#include "net/smtp/client_output.h"

#include <string>

#include "gtest/gtest.h"

namespace tern::net::smtp {
namespace {

std::string All(const ClientOutput& out) {
  absl::string_view pieces[16];
  std::string s;
  const size_t n = out.Peek(pieces);
  for (size_t i = 0; i < n; ++i) s.append(pieces[i].data(), pieces[i].size());
  return s;
}

TEST(ClientOutput, OwnedTextIsMergedExternalIsByReference) {
  const std::string body = "line\r\n..dot\r\n";
  ClientOutput out;
  out.Append("MAIL FROM:<a@b>\r\n");
  out.Append("DATA\r\n");
  out.AppendExternal(body);
  out.Append(".\r\n");
  absl::string_view pieces[8];
  ASSERT_EQ(out.Peek(pieces), 3u);
  EXPECT_EQ(pieces[0], "MAIL FROM:<a@b>\r\nDATA\r\n");
  EXPECT_EQ(pieces[1].data(), body.data());
  EXPECT_EQ(pieces[1].size(), body.size());
  EXPECT_EQ(pieces[2], ".\r\n");
  EXPECT_EQ(out.pending_bytes(), 23 + body.size() + 3);
  EXPECT_EQ(out.pending_external_bytes(), body.size());
}

TEST(ClientOutput, PartialSendsAtEveryByte) {
  const std::string body = "0123456789";
  for (size_t step = 1; step <= 7; ++step) {
    ClientOutput out;
    out.Append("ab");
    out.AppendExternal(body);
    out.Append("cd");
    std::string sent;
    while (!out.empty()) {
      const absl::string_view front = out.Front();
      const size_t n = std::min(step, front.size());
      sent.append(front.data(), n);
      out.Consume(n);
    }
    EXPECT_EQ(sent, "ab0123456789cd") << step;
    EXPECT_EQ(out.pending_external_bytes(), 0u);
    EXPECT_EQ(out.Front(), "");
  }
}

TEST(ClientOutput, PeekIsBoundedByTheSpan) {
  ClientOutput out;
  const std::string a = "a", b = "b";
  out.AppendExternal(a);
  out.AppendExternal(b);
  out.Append("c");
  absl::string_view one[1];
  ASSERT_EQ(out.Peek(one), 1u);
  EXPECT_EQ(one[0], "a");
  EXPECT_EQ(All(out), "abc");
  out.Consume(3);
  EXPECT_TRUE(out.empty());
  out.Append("x");  // reusable after draining
  EXPECT_EQ(All(out), "x");
}

}  // namespace
}  // namespace tern::net::smtp

namespace tern::net::smtp {
namespace {

TEST(ClientOutputPeekTest, RangesSayWhichAreExternal) {
  ClientOutput out;
  const std::string body = "Subject: x\r\n\r\nbody\r\n";
  out.Append("MAIL FROM:<a@b>\r\n");
  out.Append("BDAT 22 LAST\r\n");  // joins the piece before
  out.AppendExternal(body);
  out.Append("QUIT\r\n");
  ClientOutput::Range ranges[8];
  ASSERT_EQ(out.Peek(std::span<ClientOutput::Range>(ranges)), 3u);
  EXPECT_EQ(ranges[0].bytes, "MAIL FROM:<a@b>\r\nBDAT 22 LAST\r\n");
  EXPECT_FALSE(ranges[0].external);
  EXPECT_EQ(ranges[1].bytes.data(), body.data());  // in place, never copied
  EXPECT_TRUE(ranges[1].external);
  EXPECT_EQ(ranges[2].bytes, "QUIT\r\n");
  EXPECT_FALSE(ranges[2].external);
  ClientOutput::Range one[1];
  EXPECT_EQ(out.Peek(std::span<ClientOutput::Range>(one)), 1u);  // never more than asked
}

TEST(ClientOutputFrontTest, TellsWhetherTheFrontIsExternal) {
  ClientOutput out;
  EXPECT_FALSE(out.FrontIsExternal());  // empty
  const std::string body = "stored body\r\n";
  out.Append("DATA\r\n");
  out.AppendExternal(body);
  out.Append(".\r\n");
  EXPECT_FALSE(out.FrontIsExternal());
  out.Consume(6);
  EXPECT_TRUE(out.FrontIsExternal());
  EXPECT_EQ(out.Front().data(), body.data());  // in place, never copied
  out.Consume(body.size());
  EXPECT_FALSE(out.FrontIsExternal());
  EXPECT_EQ(out.Front(), ".\r\n");
}

}  // namespace
}  // namespace tern::net::smtp
