// Tests of the bounce classification (delivery/bounce_classifier.h and its parts): the corpus
// of real replies (data/bounce_replies.tsv) classified row by row, every built-in rule
// deciding some real reply, the operator's rules before the built-in ones, the rule file's
// errors, Tern's own failure texts, and the enhanced-code table.
#include "delivery/bounce_classifier.h"

#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "delivery/bounce_class.h"
#include "delivery/bounce_rules.h"
#include "delivery/bounce_rules_builtin.h"
#include "delivery/enhanced_code_class.h"
#include "gtest/gtest.h"

namespace tern::delivery {
namespace {

struct CorpusRow {
  BounceClass expected;
  int code = 0;
  std::string enhanced;
  std::string reply;
  std::string source;
  int line = 0;
  bool held_out = false;
};

// Rows after a "# held-out" comment line, up to "# end held-out", are the held-out set.
std::vector<CorpusRow> LoadCorpus() {
  std::ifstream in(TERN_BOUNCE_REPLIES_TSV);
  EXPECT_TRUE(in) << TERN_BOUNCE_REPLIES_TSV;
  std::vector<CorpusRow> rows;
  std::string line;
  int number = 0;
  bool held_out = false;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    if (line[0] == '#') {
      if (absl::StartsWith(line, "# held-out")) held_out = true;
      if (absl::StartsWith(line, "# end held-out")) held_out = false;
      continue;
    }
    std::vector<std::string> fields = absl::StrSplit(line, '\t');
    EXPECT_EQ(fields.size(), 5u) << "line " << number << ": " << line;
    if (fields.size() != 5) continue;
    CorpusRow row;
    std::optional<BounceClass> expected = ParseBounceClassName(fields[0]);
    EXPECT_TRUE(expected.has_value()) << "line " << number << ": class " << fields[0];
    EXPECT_TRUE(absl::SimpleAtoi(fields[1], &row.code)) << "line " << number;
    EXPECT_TRUE(absl::StartsWith(fields[3], fields[1])) << "line " << number;
    EXPECT_TRUE(absl::StartsWith(fields[4], "http")) << "line " << number;
    row.expected = expected.value_or(BounceClass::kOther);
    row.enhanced = fields[2];
    row.reply = fields[3];
    row.source = fields[4];
    row.line = number;
    row.held_out = held_out;
    rows.push_back(std::move(row));
  }
  return rows;
}

std::shared_ptr<const BounceClassifier> Builtin() {
  auto classifier = BounceClassifier::Create(nullptr);
  EXPECT_TRUE(classifier.ok()) << classifier.status();
  return *classifier;
}

// The class the enhanced-code table alone gives (what Tern would say without rules).
BounceClass TableOnly(const CorpusRow& row) {
  absl::string_view code = row.enhanced;
  if (code.empty()) code = FindEnhancedCode(row.reply);
  return ClassOfEnhancedCode(code).value_or(BounceClass::kOther);
}

// Tern's own failure texts, as delivery/ and net/ write them (code, enhanced, reply).
struct OwnFailure {
  int code;
  const char* enhanced;
  const char* reply;
  BounceClass expected;
};
const OwnFailure kOwnFailures[] = {
    {451, "4.4.1", "451 4.4.1 connect to 192.0.2.7:25: Connection refused",
     BounceClass::kNoAnswerFromHost},
    {451, "4.4.1", "451 4.4.1 connect to [2001:db8::7]:25: timed out after 30s",
     BounceClass::kNoAnswerFromHost},
    {451, "4.4.1",
     "451 4.4.1 mx.example.com delayed until 2026-12-07T22:10:00+00:00 after 3 connection "
     "failures in a row (last: DNS A/AAAA lookup of mx.example.com: SERVFAIL (c-ares: Server "
     "failed))",
     BounceClass::kNoAnswerFromHost},
    {550, "5.1.2",
     "550 5.1.2 DNS MX lookup of nosuch.example: NXDOMAIN (c-ares: Domain name not found)",
     BounceClass::kBadDomain},
    {550, "5.1.2",
     "550 5.1.2 DNS MX lookup of nomail.example: no MX and no A/AAAA records (DNS A/AAAA lookup "
     "of nomail.example: no records (c-ares: DNS server returned answer with no data))",
     BounceClass::kBadDomain},
    {550, "5.1.2", "550 5.1.2 recipient address has no domain to deliver to",
     BounceClass::kBadDomain},
    {556, "5.1.10", "556 5.1.10 example.com accepts no mail (null MX, RFC 7505)",
     BounceClass::kBadDomain},
    {451, "4.4.3", "451 4.4.3 DNS MX lookup of example.com: SERVFAIL (c-ares: Server failed)",
     BounceClass::kRoutingErrors},
    {451, "4.4.3",
     "451 4.4.3 DNS MX lookup of example.com: timeout (c-ares: Timeout while contacting DNS "
     "servers)",
     BounceClass::kRoutingErrors},
    {451, "4.4.7", "451 4.4.7 delivery time expired (--max_queue_lifetime)",
     BounceClass::kMessageExpired},
    {451, "4.4.7",
     "451 4.4.7 delivery time expired (--max_queue_lifetime) while waiting for its site",
     BounceClass::kMessageExpired},
    {451, "4.4.7", "451 4.4.7 delivery time expired (max_queue_lifetime of the shaping policy)",
     BounceClass::kMessageExpired},
    // A shaping rule bounced our own failure (554 5.4.0): the class follows the failure.
    {554, "5.4.0", "554 5.4.0 connect to 192.0.2.7:25: Connection refused",
     BounceClass::kNoAnswerFromHost},
    {550, "5.0.0", "550 5.0.0 message returned by the operator", BounceClass::kOther},
    // A spool read failure is Tern's own trouble, not the destination's: other.
    {451, "4.3.0",
     "451 4.3.0 cannot read the message from the spool: openat /var/spool/tern/shard-0/"
     "00000007.seg: No such file or directory",
     BounceClass::kOther},
    // TLS that policy demands and the peer cannot give: a configuration to fix on one side.
    {451, "4.7.10", "451 4.7.10 TLS is required but the server does not offer STARTTLS",
     BounceClass::kBadConfiguration},
    {451, "4.7.5",
     "451 4.7.5 TLS handshake failed: the TLS handshake: certificate verification failed: "
     "certificate has expired",
     BounceClass::kBadConfiguration},
    {451, "4.4.2", "451 4.4.2 timeout waiting for the greeting", BounceClass::kNoAnswerFromHost},
    {451, "4.4.2", "451 4.4.2 connection closed by server while waiting for the reply to DATA",
     BounceClass::kNoAnswerFromHost},
    {451, "4.4.2", "451 4.4.2 server refused the connection in its greeting",
     BounceClass::kNoAnswerFromHost},
    {451, "4.5.0",
     "451 4.5.0 SMTP protocol error from server: unexpected greeting (waiting for the greeting)",
     BounceClass::kProtocolErrors},
    {554, "5.6.0", "554 5.6.0 Message contains bare CR or LF", BounceClass::kContentRelated},
};

TEST(BounceCorpus, HasAtLeast130RealRepliesAndEveryRemoteClassSeveralTimes) {
  const std::vector<CorpusRow> rows = LoadCorpus();
  EXPECT_GE(rows.size(), 130u);
  std::map<BounceClass, int> per_class;
  for (const CorpusRow& row : rows) ++per_class[row.expected];
  for (size_t i = 0; i < kBounceClassCount; ++i) {
    const auto c = static_cast<BounceClass>(i);
    // Only Tern says "message-expired" (a remote server's own expiry is rare and looks like
    // any 4.4.7); every other class comes from receivers.
    if (c == BounceClass::kMessageExpired) continue;
    EXPECT_GE(per_class[c], 2) << BounceClassName(c);
  }
}

TEST(BounceCorpus, EveryRowGetsItsClass) {
  const std::shared_ptr<const BounceClassifier> classifier = Builtin();
  const std::vector<CorpusRow> rows = LoadCorpus();
  int table_right = 0;
  int rules_right = 0;
  int held_out = 0;
  int held_out_right = 0;
  for (const CorpusRow& row : rows) {
    const BounceClassifier::Verdict verdict =
        classifier->Explain(row.code, row.enhanced, row.reply);
    EXPECT_EQ(verdict.bounce_class, classifier->Classify(row.code, row.enhanced, row.reply));
    EXPECT_EQ(std::string(BounceClassName(verdict.bounce_class)),
              std::string(BounceClassName(row.expected)))
        << "line " << row.line << " (" << verdict.reason << "): " << row.reply;
    rules_right += verdict.bounce_class == row.expected;
    table_right += TableOnly(row) == row.expected;
    held_out += row.held_out;
    held_out_right += row.held_out && verdict.bounce_class == row.expected;
  }
  std::cout << "corpus: " << rows.size() << " replies; enhanced-code table alone " << table_right
            << " right, with the rules " << rules_right << " right; held-out " << held_out_right
            << "/" << held_out << "\n";
}

TEST(BounceCorpus, EveryBuiltinRuleDecidesARealReply) {
  const std::shared_ptr<const BounceClassifier> classifier = Builtin();
  std::set<std::string> deciding;
  for (const CorpusRow& row : LoadCorpus()) {
    deciding.insert(classifier->Explain(row.code, row.enhanced, row.reply).reason);
  }
  // Tern's own rules are decided by the texts Tern itself writes.
  for (const OwnFailure& f : kOwnFailures) {
    deciding.insert(classifier->Explain(f.code, f.enhanced, f.reply).reason);
  }
  for (const BounceRule& rule : BuiltinBounceRules().rules) {
    EXPECT_TRUE(deciding.count(absl::StrCat("rule ", rule.name)))
        << "built-in rule " << rule.name << " decides no reply of the corpus";
  }
}

TEST(BounceClassifier, TernOwnFailuresGetTheirClass) {
  const std::shared_ptr<const BounceClassifier> classifier = Builtin();
  for (const OwnFailure& f : kOwnFailures) {
    EXPECT_EQ(std::string(BounceClassName(classifier->Classify(f.code, f.enhanced, f.reply))),
              std::string(BounceClassName(f.expected)))
        << f.reply << " (" << classifier->Explain(f.code, f.enhanced, f.reply).reason << ")";
  }
}

TEST(BounceClassifier, ExplainsWhatDecided) {
  const std::shared_ptr<const BounceClassifier> classifier = Builtin();
  EXPECT_EQ(classifier
                ->Explain(550, "5.1.1",
                          "550 5.1.1 The email account that you tried to "
                          "reach does not exist.")
                .reason,
            "rule gmail-no-such-user");
  const BounceClassifier::Verdict by_code = classifier->Explain(550, "5.2.2", "550 5.2.2 xyzzy");
  EXPECT_EQ(by_code.bounce_class, BounceClass::kQuotaIssues);
  EXPECT_EQ(by_code.reason, "enhanced code 5.2.2");
  const BounceClassifier::Verdict in_text = classifier->Explain(554, "", "554 xyzzy (#5.4.4)");
  EXPECT_EQ(in_text.bounce_class, BounceClass::kRoutingErrors);
  EXPECT_EQ(in_text.reason, "enhanced code 5.4.4 in the text");
  const BounceClassifier::Verdict nothing = classifier->Explain(554, "", "554 xyzzy");
  EXPECT_EQ(nothing.bounce_class, BounceClass::kOther);
  EXPECT_EQ(nothing.reason, "reply code 5xx");
  EXPECT_EQ(classifier->Explain(421, "", "421 xyzzy").reason, "reply code 4xx");
}

TEST(BounceClassifier, LooksAtTheFirst2KiBOnly) {
  const std::shared_ptr<const BounceClassifier> classifier = Builtin();
  const std::string padding(kBounceReplyBytesMatched, 'x');
  EXPECT_EQ(
      classifier->Classify(550, "5.0.0", absl::StrCat("550 5.0.0 ", padding, " user unknown")),
      BounceClass::kOther);
  EXPECT_EQ(classifier->Classify(550, "5.0.0", absl::StrCat("550 5.0.0 user unknown ", padding)),
            BounceClass::kBadMailbox);
}

TEST(BounceClassifier, OperatorRulesComeBeforeTheBuiltinOnes) {
  auto rules = ParseBounceRules(R"(
[[rule]]
name = "acme-gone"
class = "inactive-mailbox"
match = 'user unknown'
[[rule]]
class = "spam-related"
match = 'acme-special'
)",
                                "ops.toml");
  ASSERT_TRUE(rules.ok()) << rules.status();
  EXPECT_TRUE(rules->use_builtin);
  auto classifier = BounceClassifier::Create(&*rules);
  ASSERT_TRUE(classifier.ok()) << classifier.status();
  const auto verdict = (*classifier)->Explain(550, "5.1.1", "550 5.1.1 user unknown");
  EXPECT_EQ(verdict.bounce_class, BounceClass::kInactiveMailbox);
  EXPECT_EQ(verdict.reason, "rule acme-gone");
  // A rule without a name is called by its origin and line.
  EXPECT_EQ((*classifier)->Explain(550, "5.1.1", "550 5.1.1 ACME-SPECIAL").reason,
            "rule ops.toml:6");
  // The built-in rules still apply after the operator's.
  EXPECT_EQ((*classifier)->Explain(550, "5.7.1", "550 5.7.1 Relaying denied").reason,
            "rule relay-denied");
  // Earlier rules win over later ones that also match.
  EXPECT_EQ((*classifier)->rules().front().name, "acme-gone");
}

TEST(BounceClassifier, WithoutBuiltinRulesTheTableDecides) {
  auto rules = ParseBounceRules(R"(
use_builtin = false
[[rule]]
name = "only"
class = "other"
match = 'only this'
)",
                                "ops.toml");
  ASSERT_TRUE(rules.ok()) << rules.status();
  EXPECT_FALSE(rules->use_builtin);
  auto classifier = BounceClassifier::Create(&*rules);
  ASSERT_TRUE(classifier.ok());
  EXPECT_EQ((*classifier)->rules().size(), 1u);
  // Gmail's built-in rule would say bad-mailbox; the table says what 5.7.1 means.
  const auto verdict =
      (*classifier)
          ->Explain(550, "5.7.1",
                    "550 5.7.1 The email account that you tried to reach does not exist.");
  EXPECT_EQ(verdict.bounce_class, BounceClass::kPolicyRelated);
  EXPECT_EQ(verdict.reason, "enhanced code 5.7.1");
  EXPECT_EQ((*classifier)->Explain(550, "", "550 only this").reason, "rule only");
  // No rules at all.
  BounceRuleSet none;
  none.use_builtin = false;
  auto bare = BounceClassifier::Create(&none);
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ((*bare)->Classify(550, "5.1.1", "550 5.1.1 spam"), BounceClass::kBadMailbox);
}

// Parse errors name the origin and the line.
void ExpectError(absl::string_view toml, absl::string_view wanted) {
  auto rules = ParseBounceRules(toml, "ops.toml");
  ASSERT_FALSE(rules.ok()) << toml;
  EXPECT_TRUE(absl::StrContains(rules.status().message(), wanted))
      << rules.status().message() << "\n  wanted: " << wanted;
}

TEST(BounceRules, ErrorsNameTheFileAndLine) {
  ExpectError("use_builtin = true\ncolour = 3\n", "ops.toml:2: colour: unknown key");
  ExpectError("use_builtin = 1\n", "ops.toml:1: use_builtin: must be true or false");
  ExpectError("[[rule]]\nclass = \"bad-mailbx\"\nmatch = 'x'\n",
              "ops.toml:2: rule.class: unknown class 'bad-mailbx' (known: bad-mailbox,");
  ExpectError("[[rule]]\nclass = \"other\"\nmatch = 'mailbox (gone'\n",
              "ops.toml:3: rule.match: bad regular expression: missing )");
  ExpectError("[[rule]]\nclass = \"other\"\nmatch = ''\n",
              "ops.toml:3: rule.match: empty regular expression");
  ExpectError("[[rule]]\nclass = \"other\"\nmatch = 'x'\nwhen = 'y'\n",
              "ops.toml:4: rule.when: unknown key (known: name, class, match)");
  ExpectError("[[rule]]\nclass = \"other\"\n", "ops.toml:1: rule: no match = '...'");
  ExpectError("[[rule]]\nmatch = 'x'\n", "ops.toml:1: rule: no class");
  ExpectError("[[rule]]\nname = \"has space\"\nclass = \"other\"\nmatch = 'x'\n",
              "ops.toml:2: rule.name: a rule name is");
  ExpectError("[[rule]]\nclass = 7\nmatch = 'x'\n", "ops.toml:2: rule.class: must be a string");
  ExpectError("rule = 3\n", "ops.toml:1: rule: must be a list of tables");
  ExpectError("[[rule]\n", "ops.toml:1:");
  ExpectError("# caf\xc3\xa9 ok\nname = \"caf\xc3\xa9\"\n", "ops.toml:2:12: syntax error");
  ExpectError(absl::StrCat("[[rule]]\nclass = \"other\"\nmatch = '",
                           std::string(kBouncePatternBytesMax + 1, 'a'), "'\n"),
              "ops.toml:3: rule.match: longer than 4096 bytes");
  ExpectError(std::string(kBounceRulesFileBytesMax + 1, '#'), "ops.toml: larger than 1048576");
  std::string many;
  for (size_t i = 0; i <= kBounceRulesMax; ++i) {
    absl::StrAppend(&many, "[[rule]]\nclass = \"other\"\nmatch = 'r", i, "'\n");
  }
  ExpectError(many, absl::StrCat("ops.toml:", 3 * kBounceRulesMax + 1, ": rule: more than 10000"));
}

TEST(BounceRules, ReportsAtMostTheProblemLimitInLineOrder) {
  std::string text;
  for (size_t i = 0; i < kBounceRuleProblemsMax + 3; ++i) absl::StrAppend(&text, "k", i, " = 1\n");
  auto rules = ParseBounceRules(text, "ops.toml");
  ASSERT_FALSE(rules.ok());
  const std::vector<std::string> lines = absl::StrSplit(rules.status().message(), '\n');
  ASSERT_EQ(lines.size(), kBounceRuleProblemsMax + 1);
  EXPECT_TRUE(absl::StartsWith(lines.front(), "ops.toml:1: k0: unknown key")) << lines.front();
  EXPECT_EQ(lines.back(), "... and 3 more problems");
}

TEST(BounceRules, ReadsAFileAndNamesItWhenMissing) {
  auto missing = ReadBounceRulesFile("/nonexistent/bounce.toml");
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(absl::StrContains(missing.status().message(), "/nonexistent/bounce.toml"));
  const std::string path = ::testing::TempDir() + "/bounce_rules_test.toml";
  std::ofstream(path) << "[[rule]]\nclass = \"quota-issues\"\nmatch = 'boite pleine'\n";
  auto read = ReadBounceRulesFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->rules.size(), 1u);
  EXPECT_EQ(read->rules[0].name, path + ":1");
  EXPECT_EQ(read->rules[0].bounce_class, BounceClass::kQuotaIssues);
}

TEST(BounceRules, BuiltinRulesParseAndAreAllNamed) {
  const BounceRuleSet& builtin = BuiltinBounceRules();
  EXPECT_GE(builtin.rules.size(), 20u);
  std::set<std::string> names;
  for (const BounceRule& rule : builtin.rules) {
    EXPECT_FALSE(absl::StartsWith(rule.name, "builtin:")) << rule.pattern;
    EXPECT_TRUE(names.insert(rule.name).second) << "twice: " << rule.name;
  }
}

TEST(BounceClass, NamesRoundTrip) {
  std::set<absl::string_view> seen;
  for (size_t i = 0; i < kBounceClassCount; ++i) {
    const auto c = static_cast<BounceClass>(i);
    EXPECT_EQ(ParseBounceClassName(BounceClassName(c)), c);
    EXPECT_TRUE(seen.insert(BounceClassName(c)).second);
  }
  EXPECT_EQ(BounceClassName(BounceClass::kNoAnswerFromHost), "no-answer-from-host");
  EXPECT_FALSE(ParseBounceClassName("Bad-Mailbox").has_value());
  EXPECT_FALSE(ParseBounceClassName("").has_value());
  EXPECT_TRUE(IsHardBounceClass(BounceClass::kBadMailbox));
  EXPECT_TRUE(IsHardBounceClass(BounceClass::kInactiveMailbox));
  EXPECT_TRUE(IsHardBounceClass(BounceClass::kBadDomain));
  EXPECT_FALSE(IsHardBounceClass(BounceClass::kQuotaIssues));
  EXPECT_FALSE(IsHardBounceClass(BounceClass::kSpamRelated));
}

TEST(EnhancedCodeClass, EveryRegisteredCode) {
  using C = BounceClass;
  const std::vector<std::pair<const char*, C>> table = {
      {"5.0.0", C::kOther},
      {"5.1.0", C::kBadMailbox},
      {"5.1.1", C::kBadMailbox},
      {"5.1.2", C::kBadDomain},
      {"5.1.3", C::kBadMailbox},
      {"5.1.4", C::kBadMailbox},
      {"2.1.5", C::kOther},
      {"5.1.6", C::kBadMailbox},
      {"5.1.7", C::kPolicyRelated},
      {"5.1.8", C::kPolicyRelated},
      {"5.1.9", C::kOther},
      {"5.1.10", C::kBadDomain},
      {"5.2.0", C::kBadMailbox},
      {"5.2.1", C::kInactiveMailbox},
      {"4.2.2", C::kQuotaIssues},
      {"5.2.3", C::kContentRelated},
      {"5.2.4", C::kOther},
      {"4.3.0", C::kOther},
      {"4.3.1", C::kQuotaIssues},
      {"4.3.2", C::kNoAnswerFromHost},
      {"5.3.3", C::kProtocolErrors},
      {"5.3.4", C::kContentRelated},
      {"5.3.5", C::kBadConfiguration},
      {"4.3.6", C::kOther},
      {"4.4.0", C::kRoutingErrors},
      {"4.4.1", C::kNoAnswerFromHost},
      {"4.4.2", C::kNoAnswerFromHost},
      {"4.4.3", C::kRoutingErrors},
      {"5.4.4", C::kRoutingErrors},
      {"4.4.5", C::kNoAnswerFromHost},
      {"5.4.6", C::kRoutingErrors},
      {"4.4.7", C::kMessageExpired},
      {"5.4.7", C::kMessageExpired},
      {"5.5.0", C::kProtocolErrors},
      {"5.5.1", C::kProtocolErrors},
      {"5.5.2", C::kProtocolErrors},
      {"4.5.3", C::kProtocolErrors},
      {"5.5.4", C::kProtocolErrors},
      {"5.5.5", C::kProtocolErrors},
      {"5.5.6", C::kProtocolErrors},
      {"5.6.0", C::kContentRelated},
      {"5.6.1", C::kContentRelated},
      {"5.6.2", C::kContentRelated},
      {"5.6.3", C::kContentRelated},
      {"5.6.4", C::kContentRelated},
      {"5.6.5", C::kContentRelated},
      {"5.6.6", C::kContentRelated},
      {"5.6.7", C::kContentRelated},
      {"5.6.8", C::kContentRelated},
      {"5.6.9", C::kContentRelated},
      {"5.6.10", C::kContentRelated},
      {"5.7.0", C::kPolicyRelated},
      {"5.7.1", C::kPolicyRelated},
      {"5.7.2", C::kPolicyRelated},
      {"5.7.3", C::kBadConfiguration},
      {"5.7.4", C::kBadConfiguration},
      {"4.7.5", C::kBadConfiguration},
      {"5.7.6", C::kBadConfiguration},
      {"5.7.7", C::kContentRelated},
      {"5.7.8", C::kBadConfiguration},
      {"5.7.9", C::kBadConfiguration},
      {"4.7.10", C::kBadConfiguration},
      {"5.7.11", C::kBadConfiguration},
      {"4.7.12", C::kBadConfiguration},
      {"5.7.13", C::kBadConfiguration},
      {"5.7.14", C::kBadConfiguration},
      {"4.7.15", C::kPolicyRelated},
      {"5.7.16", C::kContentRelated},
      {"5.7.17", C::kInactiveMailbox},
      {"5.7.18", C::kBadDomain},
      {"4.7.19", C::kOther},
      {"5.7.20", C::kPolicyRelated},
      {"5.7.21", C::kPolicyRelated},
      {"5.7.22", C::kPolicyRelated},
      {"5.7.23", C::kPolicyRelated},
      {"4.7.24", C::kPolicyRelated},
      {"5.7.25", C::kPolicyRelated},
      {"5.7.26", C::kPolicyRelated},
      {"5.7.27", C::kPolicyRelated},
      {"4.7.28", C::kSpamRelated},
      {"5.7.29", C::kPolicyRelated},
      {"5.7.30", C::kBadConfiguration},
      // Unregistered details take their subject's X.N.0 class.
      {"5.7.606", C::kPolicyRelated},
      {"4.4.62", C::kRoutingErrors},
      {"5.1.90", C::kBadMailbox},
  };
  for (const auto& [code, expected] : table) {
    EXPECT_EQ(ClassOfEnhancedCode(code), expected) << code;
  }
  for (const char* bad :
       {"", "5", "5.1", "3.1.1", "5.01.1", "5.1.1000", "5.1.1 ", "5..1", "5.8.1", "x.1.1"}) {
    EXPECT_FALSE(ClassOfEnhancedCode(bad).has_value()) << bad;
  }
}

TEST(EnhancedCodeClass, FindsACodeStandingAlone) {
  EXPECT_EQ(FindEnhancedCode("554 Sorry, no mailbox here by that name. (#5.1.1)"), "5.1.1");
  EXPECT_EQ(FindEnhancedCode("550 cuda_nsu 5.1.1 <a@b> Recipient address rejected"), "5.1.1");
  EXPECT_EQ(FindEnhancedCode("451 try later [#4.16.1]."), "4.16.1");
  EXPECT_EQ(FindEnhancedCode("421 deferred - 4.16.55.1; see https://x"), "");
  EXPECT_EQ(FindEnhancedCode("550 at 10.5.1.1 then 5.7.1."), "5.7.1");
  EXPECT_EQ(FindEnhancedCode("550 no code at all"), "");
  EXPECT_EQ(FindEnhancedCode(""), "");
}

}  // namespace
}  // namespace tern::delivery
