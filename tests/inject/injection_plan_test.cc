// Tests of inject/injection_plan.h with inject/mime_builder.h and inject/raw_message.h: the
// built messages' header fields, per-recipient substitution, header injection attempts,
// line rules, raw content checks and the output bound.
#include "inject/injection_plan.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "inject/message_lines.h"
#include "nlohmann/json.hpp"

namespace tern::inject {
namespace {

using Json = nlohmann::json;

const absl::Time kNow = absl::FromUnixSeconds(1'796'680'811);  // Mon, 07 Dec 2026 22:00:11

Json Request() {
  return Json::parse(R"({
    "envelope_sender": "bounces@example.com",
    "recipients": [{"email": "a@example.net", "name": "Ann", "substitutions": {"first": "Ann"}},
                   {"email": "b@example.net", "substitutions": {"first": "Bob"}}],
    "content": {"from": {"email": "news@example.com", "name": "Example News"},
                "subject": "Hi {{ first }} from {{company}}", "text_body": "Dear {{first}},\nhello.",
                "headers": {"X-Campaign": "42"}},
    "substitutions": {"company": "Example"}, "pool": "newsletter"})");
}

InjectionPlan Prepare(const Json& json, PlanOptions options = {}) {
  options.host_name = "relay.example.org";
  absl::StatusOr<InjectionPlan> plan = InjectionPlan::Prepare(json.dump(), options);
  EXPECT_TRUE(plan.ok()) << plan.status();
  return std::move(plan).value();
}

std::string Build(const InjectionPlan& plan, size_t i) {
  absl::StatusOr<std::string> message = plan.BuildMessageFor(i, kNow);
  EXPECT_TRUE(message.ok()) << message.status();
  EXPECT_TRUE(CheckMessageLines(message.value_or("")).ok());
  return message.value_or("");
}

// The header section's lines (up to the first blank line).
std::vector<std::string> HeaderLines(const std::string& message) {
  std::vector<std::string> lines =
      absl::StrSplit(message.substr(0, message.find("\r\n\r\n")), "\r\n");
  return lines;
}

bool HasHeaderLineStarting(const std::string& message, absl::string_view prefix) {
  for (const std::string& line : HeaderLines(message)) {
    if (absl::StartsWithIgnoreCase(line, prefix)) return true;
  }
  return false;
}

TEST(InjectionPlan, AccessorsDescribeTheRequest) {
  const InjectionPlan plan = Prepare(Request());
  EXPECT_EQ(plan.recipient_count(), 2u);
  EXPECT_EQ(plan.envelope_sender(), "bounces@example.com");
  EXPECT_EQ(plan.recipient(1).mailbox.email, "b@example.net");
  EXPECT_EQ(plan.pool(), "newsletter");
  EXPECT_TRUE(plan.failed_recipients().empty());
}

TEST(InjectionPlan, StructuredMessageHasTheRequiredFields) {
  const std::string m = Build(Prepare(Request()), 0);
  EXPECT_TRUE(absl::StartsWith(m,
                               "From: \"Example News\" <news@example.com>\r\n"
                               "To: \"Ann\" <a@example.net>\r\n"
                               "Subject: Hi Ann from Example\r\n"
                               "Date: Mon, 07 Dec 2026 22:00:11 +0000\r\n"
                               "Message-ID: <"))
      << m;
  EXPECT_TRUE(absl::StrContains(m,
                                "@relay.example.org>\r\nMIME-Version: 1.0\r\n"
                                "X-Campaign: 42\r\n"
                                "Content-Type: text/plain; charset=utf-8\r\n"
                                "Content-Transfer-Encoding: 7bit\r\n\r\n"
                                "Dear Ann,\r\nhello.\r\n"))
      << m;
}

TEST(InjectionPlan, EachRecipientGetsItsOwnValues) {
  const InjectionPlan plan = Prepare(Request());
  const std::string bob = Build(plan, 1);
  EXPECT_TRUE(absl::StrContains(bob, "To: b@example.net\r\n"));
  EXPECT_TRUE(absl::StrContains(bob, "Subject: Hi Bob from Example\r\n"));
  EXPECT_FALSE(absl::StrContains(bob, "Ann"));
}

TEST(InjectionPlan, MessageIdsAreUnique) {
  const InjectionPlan plan = Prepare(Request());
  auto id = [](const std::string& m) {
    const size_t at = m.find("Message-ID: ");
    return m.substr(at, m.find("\r\n", at) - at);
  };
  EXPECT_NE(id(Build(plan, 0)), id(Build(plan, 0)));
}

TEST(InjectionPlan, CrLfInSubstitutionValueCannotAddAHeader) {
  Json j = Request();
  j["recipients"][0]["substitutions"]["first"] = "x\r\nBcc: victim@example.org\r\n";
  j["content"]["headers"]["X-Note"] = "{{first}}";
  const std::string m = Build(Prepare(j), 0);
  EXPECT_FALSE(HasHeaderLineStarting(m, "Bcc:")) << m;
  EXPECT_TRUE(absl::StrContains(m, "Subject: Hi x  Bcc: victim@example.org   from Example\r\n"));
}

TEST(InjectionPlan, NonAsciiSubstitutionInSubjectIsEncoded) {
  Json j = Request();
  j["recipients"][0]["substitutions"]["first"] = "Zoë";
  const std::string m = Build(Prepare(j), 0);
  EXPECT_TRUE(absl::StrContains(m, "Subject: =?UTF-8?Q?Hi_Zo=C3=AB_from_Example?=\r\n")) << m;
}

TEST(InjectionPlan, LongAndNonAsciiBodiesAreEncodedWithinLineLimits) {
  Json j = Request();
  j["content"]["text_body"] = std::string(5000, 'x') + "\n" + std::string(3000, 'y');
  j["content"]["html_body"] = "<p>" + std::string(2000, 'z') + "é</p>";
  const std::string m = Build(Prepare(j), 0);
  EXPECT_TRUE(absl::StrContains(m, "Content-Type: multipart/alternative;"));
  EXPECT_TRUE(absl::StrContains(m, "Content-Transfer-Encoding: quoted-printable"));
  for (absl::string_view line : absl::StrSplit(m, "\r\n")) EXPECT_LE(line.size(), 998u);
}

TEST(InjectionPlan, AttachmentsMakeMultipartMixedWith76ColumnBase64) {
  Json j = Request();
  j["content"]["attachments"] = {{{"content_type", "application/octet-stream"},
                                  {"file_name", "data.bin"},
                                  {"data", std::string(1000, 'q')}}};
  const std::string m = Build(Prepare(j), 0);
  EXPECT_TRUE(absl::StrContains(m, "Content-Type: multipart/mixed;"));
  EXPECT_TRUE(absl::StrContains(m, "Content-Disposition: attachment;\r\n filename=\"data.bin\""));
  const size_t body = m.find("Content-Transfer-Encoding: base64\r\n");
  ASSERT_NE(body, std::string::npos);
  const std::vector<std::string> lines =
      absl::StrSplit(m.substr(m.find("\r\n\r\n", body) + 4), "\r\n");
  EXPECT_EQ(lines[0].size(), 76u);
  EXPECT_EQ(lines[0].substr(0, 4), "cXFx");  // "qqq"
}

TEST(InjectionPlan, RawContentIsNormalisedAndStamped) {
  Json j = Request();
  j["content"] = "From: a@example.com\nSubject: Hi {{first}}\n\nline1\nline2 {{company}}\n";
  const std::string m = Build(Prepare(j), 0);
  EXPECT_TRUE(absl::StartsWith(m, "Message-ID: <"));
  EXPECT_TRUE(absl::StrContains(m,
                                "\r\nDate: Mon, 07 Dec 2026 22:00:11 +0000\r\n"
                                "From: a@example.com\r\nSubject: Hi Ann\r\n\r\n"
                                "line1\r\nline2 Example\r\n"))
      << m;
}

TEST(InjectionPlan, RawContentKeepsItsOwnDateAndMessageId) {
  Json j = Request();
  j["content"] = "Date: x\r\nMessage-ID: <a@b>\r\n\r\nbody";
  EXPECT_EQ(Build(Prepare(j), 0), "Date: x\r\nMessage-ID: <a@b>\r\n\r\nbody\r\n");
}

TEST(InjectionPlan, RawContentHeaderSubstitutionCannotAddAHeader) {
  Json j = Request();
  j["recipients"][0]["substitutions"]["first"] = "x\nBcc: victim@example.org";
  j["content"] = "Subject: Hi {{first}}\n\n{{first}}";
  const std::string m = Build(Prepare(j), 0);
  EXPECT_FALSE(HasHeaderLineStarting(m, "Bcc:")) << m;
  EXPECT_TRUE(absl::EndsWith(m, "\r\n\r\nx\r\nBcc: victim@example.org\r\n"));  // the body keeps it
}

TEST(InjectionPlan, RawContentWithoutSeparatorIsRefused) {
  Json j = Request();
  j["content"] = "Subject: no body separator";
  absl::StatusOr<std::string> m = Prepare(j).BuildMessageFor(0, kNow);
  ASSERT_FALSE(m.ok());
  EXPECT_TRUE(absl::StrContains(m.status().message(), "blank line")) << m.status();
}

TEST(InjectionPlan, RawContentWithNonHeaderLineIsRefused) {
  Json j = Request();
  j["content"] = "Subject: a\nthis is not a header\n\nbody";
  absl::StatusOr<std::string> m = Prepare(j).BuildMessageFor(0, kNow);
  ASSERT_FALSE(m.ok());
  EXPECT_TRUE(absl::StrContains(m.status().message(), "header line 2")) << m.status();
}

TEST(InjectionPlan, RawContentLineOver998IsRefused) {
  Json j = Request();
  j["content"] = "Subject: a\n\n" + std::string(999, 'x');
  absl::StatusOr<std::string> m = Prepare(j).BuildMessageFor(0, kNow);
  ASSERT_FALSE(m.ok());
  EXPECT_TRUE(absl::StrContains(m.status().message(), "longer than 998")) << m.status();
  j["content"] = "Subject: a\n\n" + std::string(998, 'x');
  EXPECT_TRUE(Prepare(j).BuildMessageFor(0, kNow).ok());
}

TEST(InjectionPlan, SubstitutionBlowUpIsBoundedPerMessage) {
  Json j = Request();
  std::string text;
  while (text.size() < 1024) text += "{{v}}";
  j["content"] = "Subject: a\n\n" + text;
  j["substitutions"]["v"] = std::string(1024, 'x');
  PlanOptions options;
  options.limits.message_bytes_max = 64 * 1024;
  absl::StatusOr<std::string> m = Prepare(j, options).BuildMessageFor(0, kNow);
  EXPECT_EQ(m.status().code(), absl::StatusCode::kResourceExhausted);
  // The same in a structured body.
  j = Request();
  j["content"]["text_body"] = text;
  j["substitutions"]["v"] = std::string(1024, 'x');
  m = Prepare(j, options).BuildMessageFor(0, kNow);
  EXPECT_EQ(m.status().code(), absl::StatusCode::kResourceExhausted);
}

TEST(InjectionPlan, BadHostNameIsRefused) {
  PlanOptions options;
  options.host_name = "bad host";
  EXPECT_FALSE(InjectionPlan::Prepare(Request().dump(), options).ok());
}

TEST(InjectionPlan, FailedRecipientsAreReported) {
  Json j = Request();
  j["recipients"][1]["email"] = "bob";
  const InjectionPlan plan = Prepare(j);
  EXPECT_EQ(plan.recipient_count(), 1u);
  ASSERT_EQ(plan.failed_recipients().size(), 1u);
  EXPECT_EQ(plan.failed_recipients()[0].index, 1u);
}

}  // namespace
}  // namespace tern::inject
