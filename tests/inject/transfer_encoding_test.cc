// Tests of inject/transfer_encoding.h: base64 lines of exactly 76 characters,
// quoted-printable soft line breaks and escapes, the choice of encoding.
#include "inject/transfer_encoding.h"

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace tern::inject {
namespace {

std::string Encode(absl::string_view data, TransferEncoding encoding) {
  std::string out;
  AppendEncoded(data, encoding, &out);
  return out;
}

// Decodes quoted-printable (RFC 2045 §6.7) independently of the encoder.
std::string DecodeQp(const std::string& qp) {
  std::string out;
  for (size_t i = 0; i < qp.size(); ++i) {
    if (qp[i] != '=') {
      out.push_back(qp[i]);
    } else if (qp.compare(i + 1, 2, "\r\n") == 0) {
      i += 2;
    } else {
      out.push_back(static_cast<char>(std::stoi(qp.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    }
  }
  return out;
}

TEST(TransferEncoding, Base64LinesAreExactly76) {
  std::string data;
  for (int i = 0; i < 1000; ++i) data.push_back(static_cast<char>(i * 7));
  const std::string out = Encode(data, TransferEncoding::kBase64);
  std::vector<std::string> lines = absl::StrSplit(out, "\r\n");
  ASSERT_EQ(lines.back(), "");
  lines.pop_back();
  for (size_t i = 0; i + 1 < lines.size(); ++i) EXPECT_EQ(lines[i].size(), 76u);
  EXPECT_LE(lines.back().size(), 76u);
  std::string decoded;
  ASSERT_TRUE(absl::Base64Unescape(absl::StrJoin(lines, ""), &decoded));
  EXPECT_EQ(decoded, data);
  EXPECT_EQ(Encode(std::string(57, 'x'), TransferEncoding::kBase64).size(), 78u);
}

TEST(TransferEncoding, QpSoftBreaksKeepLinesWithin76) {
  const std::string text = std::string(200, 'a') + "\r\n" + std::string(75, 'b') + "\r\n" +
                           std::string(76, 'c') + "\r\n" + std::string(77, 'd');
  const std::string out = Encode(text, TransferEncoding::kQuotedPrintable);
  for (absl::string_view line : absl::StrSplit(out, "\r\n")) EXPECT_LE(line.size(), 76u) << line;
  EXPECT_EQ(out.substr(0, 77), std::string(75, 'a') + "=\r");
  EXPECT_EQ(DecodeQp(out), text);
  // A 76-character line needs no soft break; 77 does.
  EXPECT_NE(out.find("\r\n" + std::string(76, 'c') + "\r\n"), std::string::npos);
}

TEST(TransferEncoding, QpEscapesEqualsEightBitAndTrailingSpace) {
  EXPECT_EQ(Encode("a=b é \r\nend\t", TransferEncoding::kQuotedPrintable),
            "a=3Db =C3=A9=20\r\nend=09");
}

TEST(TransferEncoding, QpNeverSplitsAnEscape) {
  std::string text(74, 'a');
  text += "ééé";
  const std::string out = Encode(text, TransferEncoding::kQuotedPrintable);
  for (absl::string_view line : absl::StrSplit(out, "\r\n")) {
    EXPECT_LE(line.size(), 76u);
    const size_t eq = line.rfind('=');
    if (eq != absl::string_view::npos) EXPECT_TRUE(eq + 1 == line.size() || eq + 3 <= line.size());
  }
  EXPECT_EQ(DecodeQp(out), text);
}

TEST(TransferEncoding, ChoosesSevenBitQpOrBase64) {
  EXPECT_EQ(ChooseTextEncoding("plain\r\ntext\r\n"), TransferEncoding::k7bit);
  EXPECT_EQ(ChooseTextEncoding("mostly ascii é"), TransferEncoding::kQuotedPrintable);
  EXPECT_EQ(ChooseTextEncoding(std::string(999, 'a')), TransferEncoding::kQuotedPrintable);
  EXPECT_EQ(ChooseTextEncoding(std::string(998, 'a')), TransferEncoding::k7bit);
  EXPECT_EQ(ChooseTextEncoding("ctrl\x01"), TransferEncoding::kQuotedPrintable);
  EXPECT_EQ(ChooseTextEncoding("日本語のテキスト"), TransferEncoding::kBase64);
}

TEST(TransferEncoding, LineEndingsBecomeCrlf) {
  EXPECT_EQ(NormalizeLineEndings("a\nb\rc\r\nd\n\re"), "a\r\nb\r\nc\r\nd\r\n\r\ne");
}

}  // namespace
}  // namespace tern::inject
