// Tests of delivery/dsn_builder.h: RFC 3464 structure, hostile reply text, stored form.
#include "delivery/dsn_builder.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace tern::delivery {
namespace {

constexpr absl::string_view kOriginal =
    "Received: from client ([127.0.0.1])\r\n\tby relay (Tern) with ESMTP id 1\r\n"
    "From: a@example.com\r\nSubject: hello\r\n\r\n..a line that started with a dot\r\nbody\r\n";

DsnRequest Request(std::span<const DsnRecipient> recipients) {
  DsnRequest request;
  request.reporting_mta = "relay.example.com";
  request.original_sender = "a@example.com";
  request.arrival = absl::FromUnixSeconds(1'700'000'000);
  request.now = absl::FromUnixSeconds(1'700'000'100);
  request.recipients = recipients;
  request.original_message = kOriginal;
  request.unique_token = "0100C5E5DC5DADF6";
  return request;
}

TEST(BuildDsn, MultipartReportWithOneStatusBlockPerRecipient) {
  std::vector<DsnRecipient> recipients(2);
  recipients[0].final_recipient = "x@example.net";
  recipients[0].status = "5.1.1";
  recipients[0].remote_mta = "mx1.example.net";
  recipients[0].diagnostic = "550 5.1.1 <x@example.net>: no such user";
  recipients[1].final_recipient = "y@example.net";
  recipients[1].original_recipient = "rfc822;Y@example.net";
  const std::string dsn = BuildDsn(Request(recipients));
  EXPECT_TRUE(absl::StrContains(dsn, "To: <a@example.com>\r\n"));
  EXPECT_TRUE(absl::StrContains(dsn, "Auto-Submitted: auto-replied\r\n"));
  EXPECT_TRUE(absl::StrContains(dsn, "multipart/report; report-type=delivery-status"));
  EXPECT_TRUE(absl::StrContains(dsn, "Reporting-MTA: dns; relay.example.com\r\n"));
  EXPECT_TRUE(absl::StrContains(
      dsn,
      "Final-Recipient: rfc822; x@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n"
      "Remote-MTA: dns; mx1.example.net\r\n"
      "Diagnostic-Code: smtp; 550 5.1.1 <x@example.net>: no such user\r\n"));
  EXPECT_TRUE(absl::StrContains(dsn,
                                "Original-Recipient: rfc822;Y@example.net\r\n"
                                "Final-Recipient: rfc822; y@example.net\r\n"
                                "Action: failed\r\nStatus: 5.0.0\r\n"));
  // Headers only by default, in stored form, body not included.
  EXPECT_TRUE(absl::StrContains(dsn, "Content-Type: text/rfc822-headers\r\n\r\nReceived:"));
  EXPECT_FALSE(absl::StrContains(dsn, "a line that started with a dot"));
  EXPECT_TRUE(absl::EndsWith(dsn, "--\r\n"));
}

TEST(BuildDsn, BounceClassIsAnExtensionFieldAndALineForPeople) {
  std::vector<DsnRecipient> recipients(2);
  recipients[0].final_recipient = "x@example.net";
  recipients[0].status = "5.1.1";
  recipients[0].diagnostic = "550 5.1.1 no such user";
  recipients[0].bounce_class = "bad-mailbox";
  recipients[1].final_recipient = "y@example.net";  // no class: no field
  const std::string dsn = BuildDsn(Request(recipients));
  EXPECT_TRUE(absl::StrContains(
      dsn,
      "Diagnostic-Code: smtp; 550 5.1.1 no such user\r\nX-Tern-Bounce-Class: bad-mailbox\r\n"));
  EXPECT_TRUE(absl::StrContains(
      dsn, "<x@example.net>: failed: 550 5.1.1 no such user\r\n    Bounce class: bad-mailbox\r\n"));
  size_t fields = 0;
  for (size_t at = dsn.find("X-Tern-Bounce-Class:"); at != std::string::npos;
       at = dsn.find("X-Tern-Bounce-Class:", at + 1)) {
    ++fields;
  }
  EXPECT_EQ(fields, 1u) << "one field, for the recipient that has a class";
}

TEST(BuildDsn, ReturnFullKeepsTheStoredBodyAsIs) {
  std::vector<DsnRecipient> recipients(1);
  recipients[0].final_recipient = "x@example.net";
  DsnRequest request = Request(recipients);
  request.return_full = true;
  const std::string dsn = BuildDsn(request);
  EXPECT_TRUE(absl::StrContains(dsn, "Content-Type: message/rfc822\r\n"));
  EXPECT_TRUE(absl::StrContains(dsn, "\r\n..a line that started with a dot\r\n"));
}

TEST(BuildDsn, EveryLineIsCrlfBoundedAndNoBareDotLine) {
  std::vector<DsnRecipient> recipients(1);
  recipients[0].final_recipient = "x@example.net";
  const std::string hostile(5000, 'A');
  recipients[0].diagnostic = hostile;
  const std::string dsn = BuildDsn(Request(recipients));
  for (absl::string_view line : absl::StrSplit(dsn, "\r\n")) {
    EXPECT_LE(line.size(), 998u);
    EXPECT_FALSE(absl::StrContains(line, "\n"));
    EXPECT_FALSE(absl::StrContains(line, "\r"));
    EXPECT_NE(line, ".");
  }
}

TEST(BuildDsn, HostileReplyCannotInjectHeadersOrFields) {
  std::vector<DsnRecipient> recipients(1);
  recipients[0].final_recipient = "x@example.net";
  recipients[0].diagnostic = "550 no\r\nBcc: victim@example.org\r\n.\r\nAction: delivered\x01\xff";
  recipients[0].status = "2.0.0\r\nX";  // not a failure status: replaced
  const std::string dsn = BuildDsn(Request(recipients));
  EXPECT_FALSE(absl::StrContains(dsn, "\r\nBcc:"));
  EXPECT_FALSE(absl::StrContains(dsn, "\r\nAction: delivered"));
  EXPECT_TRUE(absl::StrContains(dsn, "Status: 5.0.0\r\n"));
  EXPECT_TRUE(absl::StrContains(
      dsn, "Diagnostic-Code: smtp; 550 no Bcc: victim@example.org . Action: delivered ?\r\n"));
}

TEST(BuildDsn, DelayedNoticeAndUtf8Recipient) {
  std::vector<DsnRecipient> recipients(1);
  recipients[0].final_recipient = "j\xc3\xb6rg@example.net";
  recipients[0].action = DsnAction::kDelayed;
  recipients[0].status = "4.4.1";
  const std::string dsn = BuildDsn(Request(recipients));
  EXPECT_TRUE(absl::StrContains(dsn, "Subject: Delayed Mail"));
  EXPECT_TRUE(absl::StrContains(dsn, "Final-Recipient: utf-8; j??rg@example.net\r\n"));
  EXPECT_TRUE(absl::StrContains(dsn, "Action: delayed\r\nStatus: 4.4.1\r\n"));
}

TEST(HeaderSection, StopsAtTheEmptyLine) {
  EXPECT_EQ(HeaderSection("A: 1\r\nB: 2\r\n\r\nbody\r\n"), "A: 1\r\nB: 2\r\n\r\n");
  EXPECT_EQ(HeaderSection("no headers end"), "no headers end");
  EXPECT_EQ(HeaderSection("\r\nbody"), "\r\n");
}

}  // namespace
}  // namespace tern::delivery

namespace tern::delivery {
namespace {

TEST(DecodeXtextTest, DecodesEscapesAndKeepsTheRest) {
  EXPECT_EQ(DecodeXtext("id+2B1"), "id+1");
  EXPECT_EQ(DecodeXtext("a+3Db+20c"), "a=b c");
  EXPECT_EQ(DecodeXtext("plain"), "plain");
  EXPECT_EQ(DecodeXtext("end+"), "end+");      // not an escape
  EXPECT_EQ(DecodeXtext("bad+ZZ"), "bad+ZZ");  // not hex
}

TEST(DsnBuilderXtextTest, EnvidAndOrcptAreDecodedInTheReport) {
  DsnRecipient r{.final_recipient = "x+y@example.net",
                 .original_recipient = "rfc822;x+2By@example.net",
                 .action = DsnAction::kFailed,
                 .status = "5.1.1"};
  DsnRequest request{.reporting_mta = "relay.test",
                     .original_sender = "a@example.test",
                     .envid = "env+2B42",
                     .arrival = absl::Now(),
                     .now = absl::Now(),
                     .recipients = std::span<const DsnRecipient>(&r, 1),
                     .original_message = "Subject: x\r\n\r\nbody\r\n",
                     .unique_token = "01"};
  const std::string dsn = BuildDsn(request);
  EXPECT_NE(dsn.find("Original-Envelope-Id: env+42\r\n"), std::string::npos) << dsn;
  EXPECT_NE(dsn.find("Original-Recipient: rfc822;x+y@example.net\r\n"), std::string::npos) << dsn;
}

}  // namespace
}  // namespace tern::delivery
