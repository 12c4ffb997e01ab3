// Tests of inject/inject_request.h and inject/bounded_json.h: every validation error, one
// test per behaviour, and hostile JSON (deep nesting, huge strings, invalid UTF-8, NUL,
// duplicate keys, numbers where strings belong).
#include "inject/inject_request.h"

#include <string>

#include "absl/strings/match.h"
#include "core/utf8.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace tern::inject {
namespace {

using Json = nlohmann::json;

Json ValidStructured() {
  return Json::parse(R"({
    "envelope_sender": "bounces@example.com",
    "recipients": [{"email": "a@example.net", "name": "Ann", "substitutions": {"first": "Ann"}},
                   {"email": "b@example.net"}],
    "content": {"from": {"email": "news@example.com", "name": "Example News"},
                "subject": "Hi {{ first }}", "reply_to": "help@example.com",
                "text_body": "Hello", "html_body": "<p>Hello</p>",
                "headers": {"X-Campaign": "42"},
                "attachments": [{"content_type": "application/pdf", "file_name": "a.pdf",
                                 "data": "JVBERi0=", "base64": true}]},
    "substitutions": {"company": "Example"}, "pool": "newsletter",
    "metadata": {"campaign": "42"}})");
}

absl::StatusOr<InjectRequest> Parse(const Json& json, const InjectLimits& limits = {}) {
  return ParseInjectRequest(json.dump(), limits);
}

// The request is refused and its message names `needle`.
void ExpectRefused(const absl::StatusOr<InjectRequest>& r, absl::string_view needle) {
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::StrContains(r.status().message(), needle))
      << r.status().message() << " lacks " << needle;
}

TEST(InjectRequest, ValidStructuredRequestParses) {
  absl::StatusOr<InjectRequest> r = Parse(ValidStructured());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->envelope_sender, "bounces@example.com");
  ASSERT_EQ(r->recipients.size(), 2u);
  EXPECT_EQ(r->recipients[0].mailbox.name, "Ann");
  EXPECT_EQ(r->recipients[0].substitutions[0].second, "Ann");
  ASSERT_TRUE(r->content.has_value());
  EXPECT_EQ(r->content->from.name, "Example News");
  EXPECT_EQ(r->content->reply_to->email, "help@example.com");
  ASSERT_EQ(r->content->attachments.size(), 1u);
  EXPECT_EQ(r->content->attachments[0].data, "%PDF-");
  EXPECT_EQ(r->pool, "newsletter");
  EXPECT_EQ(r->metadata[0], (std::pair<std::string, std::string>("campaign", "42")));
  EXPECT_FALSE(r->raw_content.has_value());
}

TEST(InjectRequest, RawContentParses) {
  Json j = ValidStructured();
  j["content"] = "Subject: x\r\n\r\nbody";
  absl::StatusOr<InjectRequest> r = Parse(j);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r->raw_content, "Subject: x\r\n\r\nbody");
}

TEST(InjectRequest, UnknownFieldIsNamedWithItsPath) {
  Json j = ValidStructured();
  j["content"]["attachments"][0]["flie_name"] = "x";
  ExpectRefused(Parse(j), "content.attachments[0].flie_name: unknown field");
}

TEST(InjectRequest, UnknownTopLevelField) {
  Json j = ValidStructured();
  j["priority"] = "high";
  ExpectRefused(Parse(j), "priority: unknown field");
}

TEST(InjectRequest, NumberWhereAStringBelongs) {
  Json j = ValidStructured();
  j["content"]["subject"] = 42;
  ExpectRefused(Parse(j), "content.subject: not a string");
}

TEST(InjectRequest, RecipientsNotAnArray) {
  Json j = ValidStructured();
  j["recipients"] = "a@example.net";
  ExpectRefused(Parse(j), "recipients: not an array");
}

TEST(InjectRequest, TopLevelNotAnObject) {
  ExpectRefused(ParseInjectRequest("[1]", {}), "not an object");
}

TEST(InjectRequest, MissingRecipients) {
  Json j = ValidStructured();
  j.erase("recipients");
  ExpectRefused(Parse(j), "recipients: missing");
}

TEST(InjectRequest, EmptyRecipients) {
  Json j = ValidStructured();
  j["recipients"] = Json::array();
  ExpectRefused(Parse(j), "recipients: empty");
}

TEST(InjectRequest, MissingContent) {
  Json j = ValidStructured();
  j.erase("content");
  ExpectRefused(Parse(j), "content: missing");
}

TEST(InjectRequest, ContentOfWrongType) {
  Json j = ValidStructured();
  j["content"] = 7;
  ExpectRefused(Parse(j), "content: neither a string nor an object");
}

TEST(InjectRequest, MissingFrom) {
  Json j = ValidStructured();
  j["content"].erase("from");
  ExpectRefused(Parse(j), "content.from: missing");
}

TEST(InjectRequest, MissingSubject) {
  Json j = ValidStructured();
  j["content"].erase("subject");
  ExpectRefused(Parse(j), "content.subject: missing");
}

TEST(InjectRequest, MissingBothBodies) {
  Json j = ValidStructured();
  j["content"].erase("text_body");
  j["content"].erase("html_body");
  ExpectRefused(Parse(j), "needs text_body or html_body");
}

TEST(InjectRequest, MissingRecipientEmail) {
  Json j = ValidStructured();
  j["recipients"][1] = {{"name", "B"}};
  ExpectRefused(Parse(j), "recipients[1].email: missing");
}

TEST(InjectRequest, MissingEnvelopeSenderWithRawContent) {
  Json j = ValidStructured();
  j.erase("envelope_sender");
  j["content"] = "Subject: x\n\nbody";
  ExpectRefused(Parse(j), "envelope_sender: missing");
}

TEST(InjectRequest, EnvelopeSenderDefaultsToFrom) {
  Json j = ValidStructured();
  j.erase("envelope_sender");
  absl::StatusOr<InjectRequest> r = Parse(j);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->envelope_sender, "news@example.com");
}

TEST(InjectRequest, InvalidSenderRefusesTheRequest) {
  Json j = ValidStructured();
  j["envelope_sender"] = "not an address";
  ExpectRefused(Parse(j), "envelope_sender:");
}

TEST(InjectRequest, InvalidFromRefusesTheRequest) {
  Json j = ValidStructured();
  j["content"]["from"]["email"] = "news@";
  ExpectRefused(Parse(j), "content.from.email: invalid address");
}

TEST(InjectRequest, InvalidRecipientIsReportedAndTheOthersProceed) {
  Json j = ValidStructured();
  j["recipients"][0]["email"] = "ann@@example.net";
  absl::StatusOr<InjectRequest> r = Parse(j);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->recipients.size(), 1u);
  EXPECT_EQ(r->recipients[0].mailbox.email, "b@example.net");
  EXPECT_EQ(r->recipients[0].index, 1u);
  ASSERT_EQ(r->failed_recipients.size(), 1u);
  EXPECT_EQ(r->failed_recipients[0].index, 0u);
  EXPECT_EQ(r->failed_recipients[0].email, "ann@@example.net");
  EXPECT_EQ(r->failed_recipients[0].reason, "invalid address");
}

TEST(InjectRequest, NoValidRecipientRefusesTheRequest) {
  Json j = ValidStructured();
  j["recipients"] = Json::array({{{"email", "x"}}, {{"email", "y@"}}});
  ExpectRefused(Parse(j), "recipients: no valid recipient");
}

TEST(InjectRequest, AddressFormsRefused) {
  for (const char* bad : {"", "a", "a@", "@b.example", "a b@example.com", "a@b..c", "a@-b.c",
                          "\"q\"@example.com", "@r.example:a@b.example", "postmaster",
                          "ä@example.com", "a@exämple.com", "<a@b.c>", "a@b.c\r\nBcc: x@y.z"}) {
    EXPECT_NE(MailboxProblem(bad, 254), "") << bad;
  }
  for (const char* good : {"a@b.c", "first.last+tag@sub.example.co.uk", "a@[192.0.2.1]",
                           "x!#$%&'*+/=?^_`{|}~-@example.com"}) {
    EXPECT_EQ(MailboxProblem(good, 254), "") << good;
  }
  EXPECT_NE(MailboxProblem(std::string(64, 'a') + "b@example.com", 254), "");  // local > 64
}

TEST(InjectRequest, CrLfInSubjectIsHeaderInjection) {
  Json j = ValidStructured();
  j["content"]["subject"] = "Hi\r\nBcc: victim@example.org";
  ExpectRefused(Parse(j), "content.subject: CR or LF in a header value");
}

TEST(InjectRequest, LfInDisplayNameIsHeaderInjection) {
  Json j = ValidStructured();
  j["recipients"][0]["name"] = "Ann\nBcc: x@example.org";
  ExpectRefused(Parse(j), "recipients[0].name: CR or LF");
}

TEST(InjectRequest, CrLfInHeaderValue) {
  Json j = ValidStructured();
  j["content"]["headers"]["X-A"] = "1\r\nBcc: x@example.org";
  ExpectRefused(Parse(j), "content.headers.X-A: CR or LF");
}

TEST(InjectRequest, HeaderNameWithColonOrSpaceOrCrLf) {
  for (const char* name : {"X-A: b", "X A", "X-A\r\nBcc", ""}) {
    Json j = ValidStructured();
    j["content"]["headers"] = {{name, "v"}};
    ExpectRefused(Parse(j), "not a header field name");
  }
}

TEST(InjectRequest, HeadersMayNotOverrideBuilderFields) {
  for (const char* name : {"From", "to", "DATE", "Message-ID", "MIME-Version", "Content-Type",
                           "content-transfer-encoding", "Subject", "Bcc"}) {
    Json j = ValidStructured();
    j["content"]["headers"] = {{name, "v"}};
    ExpectRefused(Parse(j), "set by the builder");
  }
}

TEST(InjectRequest, NulByteInAnyString) {
  Json j = ValidStructured();
  j["content"]["text_body"] = std::string("a\0b", 3);
  ExpectRefused(Parse(j), "content.text_body: NUL byte");
  j = ValidStructured();
  j["substitutions"]["k"] = std::string("\0", 1);
  ExpectRefused(Parse(j), "substitutions.k: NUL byte");
  j = ValidStructured();
  j["metadata"][std::string("k\0", 2)] = "v";
  ExpectRefused(Parse(j), "NUL byte in a key");
}

TEST(InjectRequest, InvalidUtf8IsAStatus) {
  const std::string body =
      std::string(R"({"envelope_sender": "a@b.c", "pool": ")") + "\xC3\x28" + "\"}";
  ExpectRefused(ParseInjectRequest(body, {}), "invalid JSON at byte");
}

TEST(InjectRequest, ErrorsQuoteOnlyABoundedPrefixOfClientText) {
  // A long invalid string: the parser's "last read" token is cut, and stays UTF-8.
  const std::string body = "{\"pool\": \"" + std::string(100'000, 'a') + "\xFF\"}";
  absl::StatusOr<InjectRequest> r = ParseInjectRequest(body, {});
  ASSERT_FALSE(r.ok());
  EXPECT_LT(r.status().message().size(), 400u) << r.status().message().size();
  EXPECT_TRUE(core::IsValidUtf8(r.status().message()));
  // A long unknown key, a long duplicate key, a long invalid recipient address.
  Json j = ValidStructured();
  j[std::string(100'000, 'k')] = 1;
  r = Parse(j);
  ASSERT_FALSE(r.ok());
  EXPECT_LT(r.status().message().size(), 200u);
  r = ParseInjectRequest(
      "{\"" + std::string(100'000, 'd') + "\":1,\"" + std::string(100'000, 'd') + "\":1}", {});
  ASSERT_FALSE(r.ok());
  EXPECT_LT(r.status().message().size(), 200u);
  j = ValidStructured();
  j["recipients"][0]["email"] = std::string(100'000, 'e') + "é";
  r = Parse(j);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->failed_recipients.size(), 1u);
  EXPECT_LE(r->failed_recipients[0].email.size(), 257u);
}

TEST(InjectRequest, TruncatedJsonIsAStatus) {
  ExpectRefused(ParseInjectRequest(R"({"recipients": [)", {}), "invalid JSON");
  ExpectRefused(ParseInjectRequest("", {}), "invalid JSON");
  ExpectRefused(ParseInjectRequest("{} {}", {}), "invalid JSON");
}

TEST(InjectRequest, NumberOverflowIsAStatus) {
  ExpectRefused(ParseInjectRequest(R"({"pool": 1e999})", {}), "invalid JSON");
}

TEST(InjectRequest, DuplicateKeysAreRefused) {
  ExpectRefused(ParseInjectRequest(R"({"pool": "a", "pool": "b"})", {}), "duplicate key \"pool\"");
}

TEST(InjectRequest, HundredThousandDeepNestingIsRefusedWithoutRecursion) {
  const std::string deep = std::string(100'000, '[') + std::string(100'000, ']');
  ExpectRefused(ParseInjectRequest(deep, {}), "nested deeper than 16");
  const std::string objects = "{\"recipients\":" + std::string(100'000, '[');
  ExpectRefused(ParseInjectRequest(objects, {}), "nested deeper than 16");
}

TEST(InjectRequest, DepthLimitIsConfigurable) {
  InjectLimits limits;
  limits.json_depth_max = 2;
  ExpectRefused(Parse(ValidStructured(), limits), "nested deeper than 2");
}

TEST(InjectRequest, ValueCountLimit) {
  InjectLimits limits;
  limits.json_values_max = 10;
  ExpectRefused(Parse(ValidStructured(), limits), "more than 10 JSON values");
}

TEST(InjectRequest, FiveMebibyteStringInAShortField) {
  Json j = ValidStructured();
  j["content"]["subject"] = std::string(5 << 20, 'a');
  absl::StatusOr<InjectRequest> r = Parse(j);
  ExpectRefused(r, "content.subject: longer than 900 bytes");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
}

TEST(InjectRequest, BodyLimit) {
  InjectLimits limits;
  limits.body_bytes_max = 100;
  ExpectRefused(Parse(ValidStructured(), limits), "body longer than 100 bytes");
}

TEST(InjectRequest, TooManyRecipients) {
  InjectLimits limits;
  limits.recipients_max = 1;
  ExpectRefused(Parse(ValidStructured(), limits), "more than 1 recipients");
}

TEST(InjectRequest, TooManySubstitutions) {
  InjectLimits limits;
  limits.substitutions_max = 1;
  Json j = ValidStructured();
  j["substitutions"] = {{"a", "1"}, {"b", "2"}};
  ExpectRefused(Parse(j, limits), "more than 1 substitutions");
}

TEST(InjectRequest, SubstitutionKeyAndValueSizes) {
  Json j = ValidStructured();
  j["substitutions"] = {{std::string(65, 'k'), "1"}};
  ExpectRefused(Parse(j), "a key must have 1 to 64 bytes");
  j = ValidStructured();
  j["recipients"][0]["substitutions"]["first"] = std::string(4097, 'v');
  ExpectRefused(Parse(j), "recipients[0].substitutions.first: longer than 4096");
  j = ValidStructured();
  j["substitutions"]["n"] = 3;
  ExpectRefused(Parse(j), "substitutions.n: not a string");
}

TEST(InjectRequest, TooManyHeaders) {
  InjectLimits limits;
  limits.headers_max = 1;
  Json j = ValidStructured();
  j["content"]["headers"] = {{"X-A", "1"}, {"X-B", "2"}};
  ExpectRefused(Parse(j, limits), "more than 1 headers");
}

TEST(InjectRequest, TooManyAttachments) {
  InjectLimits limits;
  limits.attachments_max = 0;
  ExpectRefused(Parse(ValidStructured(), limits), "more than 0 attachments");
}

TEST(InjectRequest, AttachmentTooLargeOnceDecoded) {
  InjectLimits limits;
  limits.attachment_bytes_max = 4;
  ExpectRefused(Parse(ValidStructured(), limits), "longer than 4 bytes decoded");
}

TEST(InjectRequest, AttachmentsTotalSize) {
  InjectLimits limits;
  limits.attachments_total_bytes_max = 6;
  Json j = ValidStructured();
  j["content"]["attachments"].push_back(j["content"]["attachments"][0]);
  ExpectRefused(Parse(j, limits), "more than 6 bytes in all");
}

TEST(InjectRequest, AttachmentInvalidBase64) {
  Json j = ValidStructured();
  j["content"]["attachments"][0]["data"] = "!!!";
  ExpectRefused(Parse(j), "content.attachments[0].data: invalid base64");
}

TEST(InjectRequest, AttachmentTextDataKeptAsIs) {
  Json j = ValidStructured();
  j["content"]["attachments"][0] = {{"content_type", "text/csv"}, {"data", "a,b\n1,2\n"}};
  absl::StatusOr<InjectRequest> r = Parse(j);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->content->attachments[0].data, "a,b\n1,2\n");
}

TEST(InjectRequest, AttachmentBadContentType) {
  for (const char* type : {"pdf", "application/", "a b/c", "multipart/mixed", "text/plain; x=y"}) {
    Json j = ValidStructured();
    j["content"]["attachments"][0]["content_type"] = type;
    ExpectRefused(Parse(j), "content.attachments[0].content_type");
  }
}

TEST(InjectRequest, AttachmentFileNameIsANameNotAPath) {
  Json j = ValidStructured();
  j["content"]["attachments"][0]["file_name"] = "../etc/passwd";
  ExpectRefused(Parse(j), "a path, not a name");
}

TEST(InjectRequest, AttachmentBase64MustBeBoolean) {
  Json j = ValidStructured();
  j["content"]["attachments"][0]["base64"] = "yes";
  ExpectRefused(Parse(j), "base64: not a boolean");
}

TEST(InjectRequest, PoolName) {
  Json j = ValidStructured();
  j["pool"] = "news letter";
  ExpectRefused(Parse(j), "pool: not a pool name");
}

TEST(InjectRequest, MetadataLimits) {
  InjectLimits limits;
  limits.metadata_bytes_max = 8;
  Json j = ValidStructured();
  j["metadata"] = {{"campaign", "42"}};
  ExpectRefused(Parse(j, limits), "metadata: more than 8 bytes");
  limits = {};
  limits.metadata_max = 0;
  ExpectRefused(Parse(ValidStructured(), limits), "metadata: more than 0 members");
  j["metadata"] = {{"n", 1}};
  ExpectRefused(Parse(j), "metadata.n: not a string");
}

TEST(InjectRequest, ErrorsAreListedAndCapped) {
  Json j = ValidStructured();
  for (int i = 0; i < 20; ++i) j["unknown" + std::to_string(i + 10)] = 1;
  absl::StatusOr<InjectRequest> r = Parse(j);
  ASSERT_FALSE(r.ok());
  const std::string message(r.status().message());
  EXPECT_TRUE(absl::StrContains(message, "unknown10: unknown field; unknown11: unknown field"))
      << message;
  EXPECT_TRUE(absl::StrContains(message, "; and 10 more")) << message;
}

TEST(InjectRequest, MailboxAsStringOrObjectOnly) {
  Json j = ValidStructured();
  j["content"]["from"] = "news@example.com";
  EXPECT_TRUE(Parse(j).ok());
  j["content"]["from"] = Json::array({"news@example.com"});
  ExpectRefused(Parse(j), "content.from: not an object");
  j["content"]["from"] = {{"name", "x"}};
  ExpectRefused(Parse(j), "content.from.email: missing");
}

}  // namespace
}  // namespace tern::inject
