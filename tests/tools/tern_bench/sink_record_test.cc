// Tests of the sink's record lines (tools/tern_bench/sink_record.h) and summary
// (sink_report.h): exact JSON, escaping, nulls and the line bound.
#include "tools/tern_bench/sink_record.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tools/tern_bench/sink_report.h"

namespace tern::tools::tern_bench {
namespace {

TEST(RecordLine, HoldsTheMessageAsJson) {
  MessageOutcome outcome;
  outcome.sender = "a@example.com";
  outcome.recipients = {"b@example.net", "c@example.net"};
  outcome.recipient_count = 2;
  outcome.content_bytes = 4096;
  outcome.verify.message_id = "run.0.7@tern-bench";
  outcome.verify.has_checksum = true;
  outcome.verify.headers_complete = true;
  outcome.verify.expected = 0x0123456789abcdefull;
  outcome.verify.computed = 0x0123456789abcdefull;
  outcome.reply = 250;
  std::string line;
  AppendRecordLine(outcome, &line);
  EXPECT_EQ(line,
            "{\"message_id\":\"run.0.7@tern-bench\",\"sender\":\"a@example.com\","
            "\"recipients\":[\"b@example.net\",\"c@example.net\"],\"bytes\":4096,"
            "\"checksum\":\"0123456789abcdef\",\"expected\":\"0123456789abcdef\","
            "\"verified\":true,\"reply\":250}\n");
}

TEST(RecordLine, NullsAndEscapes) {
  MessageOutcome outcome;
  outcome.sender = "we\"ird\\\n\x01@x";
  outcome.verify.computed = 1;
  outcome.reply = 0;  // disconnected instead of replying
  std::string line;
  AppendRecordLine(outcome, &line);
  EXPECT_EQ(line,
            "{\"message_id\":null,\"sender\":\"we\\\"ird\\\\\\n\\u0001@x\",\"recipients\":[],"
            "\"bytes\":0,\"checksum\":\"0000000000000001\",\"expected\":null,"
            "\"verified\":false,\"reply\":null}\n");
}

TEST(RecordLine, KeepsUtf8AndReplacesWhatIsNot) {
  MessageOutcome outcome;
  outcome.sender = "j\xc3\xb6rg@b\xfc\xc3r.example";  // "jörg", then a Latin-1 byte and a cut one
  outcome.recipients = {"\xed\xa0\x80@x"};            // an encoded surrogate is not UTF-8 either
  std::string line;
  AppendRecordLine(outcome, &line);
  EXPECT_TRUE(
      absl::StrContains(line, "\"sender\":\"j\xc3\xb6rg@b\xef\xbf\xbd\xef\xbf\xbdr.example\""))
      << line;
  EXPECT_TRUE(
      absl::StrContains(line, "\"recipients\":[\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd@x\"]"))
      << line;
}

TEST(RecordLine, IsBoundedWithManyRecipients) {
  std::vector<std::string> addresses;
  for (int i = 0; i < 10000; ++i) addresses.push_back(absl::StrCat("recipient", i, "@example.net"));
  MessageOutcome outcome;
  for (const std::string& a : addresses) outcome.recipients.push_back(a);
  outcome.recipient_count = addresses.size();
  outcome.reply = 250;
  std::string line;
  AppendRecordLine(outcome, &line);
  EXPECT_LE(line.size(), kRecordLineBytesMax);
  EXPECT_TRUE(absl::StrContains(line, "\"recipients_omitted\":")) << line.substr(0, 200);
  EXPECT_TRUE(absl::EndsWith(line, "\"reply\":250}\n"));
  EXPECT_EQ(line.find('\n'), line.size() - 1);
}

TEST(SinkSummary, JsonHasEveryField) {
  SinkTotals totals;
  totals.messages_accepted = 10;
  totals.recipients_accepted = 20;
  totals.bytes_accepted = 40960;
  totals.messages_received = 11;
  totals.verified = 9;
  totals.unverified = 1;
  totals.checksum_mismatches = 1;
  totals.connections_accepted = 3;
  totals.replies[250 - kReplyCodeMin] = 40;
  totals.replies[451 - kReplyCodeMin] = 1;
  totals.faults[0][static_cast<size_t>(FaultStage::kDot)] = 1;
  totals.faults[kFaultKindDelay][static_cast<size_t>(FaultStage::kRcpt)] = 20;
  EXPECT_EQ(FormatSummaryJson(totals, absl::Seconds(2), 77),
            "{\"mode\":\"sink\",\"elapsed_seconds\":2.000,\"messages\":10,\"recipients\":20,"
            "\"bytes\":40960,\"msgs_per_second\":5.0,\"messages_received\":11,\"verified\":9,"
            "\"unverified\":1,\"checksum_mismatches\":1,\"connections\":3,"
            "\"replies\":{\"250\":40,\"451\":1},"
            "\"faults\":{\"tempfail\":{\"dot\":1},\"permfail\":{},\"disconnect\":{},"
            "\"delay\":{\"rcpt\":20}},\"record_lines_dropped\":0,\"seed\":77}\n");
  const std::string text = FormatSummaryText(totals, absl::Seconds(2), 77);
  EXPECT_TRUE(absl::StrContains(text, "  replies               250:40 451:1\n")) << text;
  EXPECT_TRUE(absl::StrContains(text, "  faults                tempfail dot:1; delay rcpt:20\n"))
      << text;
  EXPECT_TRUE(absl::StrContains(text, "  seed                  77\n")) << text;
}

TEST(SinkSummary, ProgressLine) {
  SinkTotals before, now;
  before.messages_accepted = 100;
  now.messages_accepted = 1100;
  now.verified = 1000;
  now.checksum_mismatches = 2;
  now.connections_open = 50;
  EXPECT_EQ(FormatProgressLine(now, before, absl::Milliseconds(500), absl::Seconds(3)),
            "sink: 3s 2000 msgs/s total 1100 verified 1000 bad 2 conns 50");
}

}  // namespace
}  // namespace tern::tools::tern_bench
