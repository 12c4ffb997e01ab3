// Tests of inject/header_encoding.h against hand-worked RFC 2047 and RFC 2231 examples, and
// the line bounds of long encoded text.
#include "inject/header_encoding.h"

#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace tern::inject {
namespace {

std::vector<std::string> Lines(const std::string& field) {
  std::vector<std::string> lines = absl::StrSplit(field, "\r\n");
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

// RFC 2047 §8: "=?ISO-8859-1?Q?Andr=E9?= Pirard"; the same name in UTF-8 (é = C3 A9), with
// the space as "_" (§4.2 (2)).
TEST(HeaderEncoding, QWordOfRfc2047Example) {
  EXPECT_EQ(EncodedWords("André Pirard", WordEncoding::kQ, 0), "=?UTF-8?Q?Andr=C3=A9_Pirard?=");
}

// RFC 2047 §8: "=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?=" encodes ASCII text, which
// is the same in UTF-8.
TEST(HeaderEncoding, BWordOfRfc2047Example) {
  EXPECT_EQ(EncodedWords("If you can read this yo", WordEncoding::kBase64, 0),
            "=?UTF-8?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?=");
}

// RFC 2047 §5 (3): in a Q word only letters, digits and "!*+-/" go as they are; "=", "?",
// "_" and "\"" are encoded.
TEST(HeaderEncoding, QEncodesSpecials) {
  EXPECT_EQ(EncodedWords("a=b?c_d\"e(f)", WordEncoding::kQ, 0),
            "=?UTF-8?Q?a=3Db=3Fc=5Fd=22e=28f=29?=");
}

TEST(HeaderEncoding, AsciiSubjectStaysPlain) {
  EXPECT_EQ(UnstructuredField("Subject", "Hello there"), "Subject: Hello there\r\n");
}

TEST(HeaderEncoding, NonAsciiSubjectIsEncoded) {
  EXPECT_EQ(UnstructuredField("Subject", "Grüße aus Köln"),
            "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=\r\n");
}

TEST(HeaderEncoding, MostlyNonAsciiUsesBase64) {
  // "日本語" = E6 97 A5 E6 9C AC E8 AA 9E
  EXPECT_EQ(UnstructuredField("Subject", "日本語"), "Subject: =?UTF-8?B?5pel5pys6Kqe?=\r\n");
}

TEST(HeaderEncoding, LongEncodedTextFoldsWithinRfc2047Bounds) {
  std::string text;
  for (int i = 0; i < 200; ++i) text += "é€😀 ";
  for (WordEncoding encoding : {WordEncoding::kQ, WordEncoding::kBase64}) {
    const std::string field = "Subject: " + EncodedWords(text, encoding, 9) + "\r\n";
    const std::vector<std::string> lines = Lines(field);
    ASSERT_GT(lines.size(), 10u);
    for (size_t i = 0; i < lines.size(); ++i) {
      EXPECT_LE(lines[i].size(), kEncodedLineBytesMax) << lines[i];
      if (i > 0) EXPECT_EQ(lines[i][0], ' ');
      // Each word is at most 75 characters.
      const std::string word = i == 0 ? lines[i].substr(9) : lines[i].substr(1);
      EXPECT_LE(word.size(), kEncodedWordBytesMax);
      EXPECT_EQ(word.substr(0, 10), encoding == WordEncoding::kQ ? "=?UTF-8?Q?" : "=?UTF-8?B?");
      EXPECT_EQ(word.substr(word.size() - 2), "?=");
    }
  }
}

TEST(HeaderEncoding, WordsNeverSplitACharacter) {
  // 4-byte characters only: every Q word holds whole "=F0=9F=98=80" groups.
  std::string text;
  for (int i = 0; i < 50; ++i) text += "😀";
  const std::string words = EncodedWords(text, WordEncoding::kQ, 0);
  for (const std::string& line : Lines(words + "\r\n")) {
    const std::string payload = line.substr(line.find("?Q?") + 3);
    EXPECT_EQ((payload.size() - 2) % 12, 0u) << line;
  }
}

TEST(HeaderEncoding, LongAsciiSubjectBeyond998IsEncodedNotOverlong) {
  const std::string field = UnstructuredField("Subject", std::string(2000, 'a'));
  for (const std::string& line : Lines(field)) EXPECT_LE(line.size(), 998u);
}

TEST(HeaderEncoding, MailboxWithQuotedDisplayName) {
  EXPECT_EQ(MailboxField("From", {"news@example.com", "Example \"News\" \\ Co"}),
            "From: \"Example \\\"News\\\" \\\\ Co\" <news@example.com>\r\n");
  EXPECT_EQ(MailboxField("To", {"a@example.net", ""}), "To: a@example.net\r\n");
}

TEST(HeaderEncoding, MailboxWithNonAsciiDisplayName) {
  EXPECT_EQ(MailboxField("From", {"a@example.net", "Zoë"}),
            "From: =?UTF-8?Q?Zo=C3=AB?=\r\n <a@example.net>\r\n");
}

// RFC 2231 §4: charset'language'percent-encoded.
TEST(HeaderEncoding, FileNameParameters) {
  EXPECT_EQ(FileNameParameter("a.pdf"), "filename=\"a.pdf\"");
  EXPECT_EQ(FileNameParameter("say \"hi\".txt"), "filename=\"say \\\"hi\\\".txt\"");
  EXPECT_EQ(FileNameParameter("€ rates.pdf"), "filename*=UTF-8''%E2%82%AC%20rates.pdf");
}

}  // namespace
}  // namespace tern::inject
