// Property test of the admin endpoint's JSON answers (tools/ternd/queue_report.h,
// status_page.h and shaping_report.h: /queue, /message, /stats, /status.json, /shaping and
// the queue actions), which
// `ternctl --json` prints as they come: with hostile bytes in every string that comes from
// a client, a message or a remote server, each answer is strict JSON (nlohmann rejects
// invalid UTF-8) and each string decodes to its bytes' reading (core/json_writer.h).
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "tests/core/hostile_text.h"
#include "tools/ternd/queue_report.h"
#include "tools/ternd/shaping_report.h"
#include "tools/ternd/status_page.h"

namespace tern::tools::ternd {

using queue::ActionOutcome;
using queue::MessageDetails;
using queue::MessageState;
using queue::QueueAction;
using queue::QueueListing;
using queue::QueueRow;
using queue::ShardStats;

namespace {

using core::testing::HostileText;
using core::testing::Latin1Reading;
using core::testing::ParseStrictJson;

class JsonRenderers : public ::testing::Test {
 protected:
  std::string Text() { return HostileText(rng_, 120); }

  QueueRow Row() {
    QueueRow row;
    row.id = rng_();
    row.received_unix_us = 1'700'000'000'000'000;
    row.state = MessageState::kDeferred;
    row.next_attempt_unix_us = row.received_unix_us + 60'000'000;
    row.sender = Text();
    row.recipients = {{Text(), spool::RecipientState::kDeferred}, {Text()}};
    return row;
  }

  delivery::DestinationStats Destination() {
    delivery::DestinationStats d;
    d.name = Text();
    d.deferred = 1;
    d.last_error = Text();
    d.last_error_at = now_;
    return d;
  }

  std::mt19937_64 rng_{1515};
  const absl::Time now_ = absl::FromUnixSeconds(1'700'000'100);
};

constexpr int kIterations = 1000;

TEST_F(JsonRenderers, QueueListingIsStrictJson) {
  for (int i = 0; i < kIterations; ++i) {
    QueueListing listing;
    listing.matched = 1;
    listing.rows = {Row()};
    const std::string out = QueueJson({listing}, 10, 1, 100, now_);
    const std::optional<nlohmann::json> json = ParseStrictJson(out);
    ASSERT_TRUE(json.has_value()) << absl::CHexEscape(out);
    const nlohmann::json& m = (*json)["messages"][0];
    ASSERT_EQ(m["sender"].get<std::string>(), Latin1Reading(listing.rows[0].sender));
    ASSERT_EQ(m["recipients"][1]["address"].get<std::string>(),
              Latin1Reading(listing.rows[0].recipients[1].address));
  }
}

TEST_F(JsonRenderers, MessageDetailsAreStrictJson) {
  for (int i = 0; i < kIterations; ++i) {
    MessageDetails d;
    d.found = true;
    d.row = Row();
    d.client_address = Text();
    d.helo = Text();
    d.envid = Text();
    d.orcpts = {Text(), ""};
    d.headers = i == 0 ? core::testing::AllByteValues() : HostileText(rng_, 2000);
    d.attempts.push_back({.at_unix_us = 1'700'000'050'000'000,
                          .recipient = 0,
                          .attempt = 1,
                          .reply_code = 450,
                          .enhanced_code = Text(),
                          .reply_text = Text(),
                          .destination_host = Text()});
    const std::string out = DetailsJson(d, now_);
    const std::optional<nlohmann::json> json = ParseStrictJson(out);
    ASSERT_TRUE(json.has_value()) << absl::CHexEscape(out);
    ASSERT_EQ((*json)["headers"].get<std::string>(), Latin1Reading(d.headers));
    ASSERT_EQ((*json)["envelope"]["helo"].get<std::string>(), Latin1Reading(d.helo));
    ASSERT_EQ((*json)["attempts"][0]["reply"].get<std::string>(),
              Latin1Reading(d.attempts[0].reply_text));
    ASSERT_EQ((*json)["attempts"][0]["host"].get<std::string>(),
              Latin1Reading(d.attempts[0].destination_host));
  }
}

TEST_F(JsonRenderers, StatsAndStatusAreStrictJson) {
  for (int i = 0; i < kIterations; ++i) {
    ShardStats stats;
    stats.destinations = {Destination(), Destination()};
    const std::string out = StatsJson({stats}, Rates{}, now_);
    const std::optional<nlohmann::json> json = ParseStrictJson(out);
    ASSERT_TRUE(json.has_value()) << absl::CHexEscape(out);
    ASSERT_EQ((*json)["destinations"][1]["last_error"].get<std::string>(),
              Latin1Reading(stats.destinations[1].last_error));

    ShardStatus status{.shard = 0, .destinations = stats.destinations};
    status.recent.push_back({.at = now_,
                             .queue_id = rng_(),
                             .recipient = Text(),
                             .result = "deferred",
                             .reply = Text(),
                             .destination = Text()});
    const std::string page =
        StatusJson(ThroughputHistory(), {status}, now_, /*per_shard=*/rng_() % 2 == 0);
    const std::optional<nlohmann::json> page_json = ParseStrictJson(page);
    ASSERT_TRUE(page_json.has_value()) << absl::CHexEscape(page);
    ASSERT_EQ((*page_json)["failures"][0]["reply"].get<std::string>(),
              Latin1Reading(status.recent[0].reply));
    const std::string first = (*page_json)["destinations"][0]["destination"].get<std::string>();
    ASSERT_TRUE(first == Latin1Reading(stats.destinations[0].name) ||
                first == Latin1Reading(stats.destinations[1].name));
  }
}

TEST_F(JsonRenderers, ActionErrorsAreStrictJson) {
  for (int i = 0; i < kIterations; ++i) {
    ActionOutcome outcome;
    outcome.errors = {{rng_(), Text()}};
    const std::string out = ActionJson(QueueAction::kHold, {outcome});
    const std::optional<nlohmann::json> json = ParseStrictJson(out);
    ASSERT_TRUE(json.has_value()) << absl::CHexEscape(out);
    ASSERT_EQ((*json)["errors"][0]["error"].get<std::string>(),
              Latin1Reading(outcome.errors[0].second));
  }
}

TEST_F(JsonRenderers, ShapingIsStrictJson) {
  for (int i = 0; i < kIterations; ++i) {
    ShapingReport report;
    report.policy_file = Text();
    report.policy_blocks = rng_() % 100;
    queue::ShapingOverride entry{.source = Text(),
                                 .scope = Text(),
                                 .kind = rng_() % 2 == 0 ? queue::ShapingOverride::Kind::kSuspend
                                                         : queue::ShapingOverride::Kind::kSet,
                                 .until = now_ + absl::Minutes(30),
                                 .reason = Text(),
                                 .cause = Text()};
    entry.options.max_message_rate = queue::RateSpec{.count = 100, .burst = 100};
    entry.ramp_up = queue::RampUp{.steps = 4, .over = absl::Hours(1)};
    report.overrides = {entry};
    report.troubled_sites = {{.key = Text(),
                              .delayed = true,
                              .delayed_until = now_ + absl::Minutes(2),
                              .consecutive_failures = 3,
                              .last_failure = Text()}};
    report.throttles = {{.key = Text(), .message_rate = queue::RateSpec{.count = 5, .burst = 1}}};
    DestinationShaping destination{.domain = Text(), .source = Text(), .provider = Text()};
    destination.lane = queue::ShapingOptions::BuiltInDefaults();
    destination.shared = {{.key = Text(), .connection_limit = 3}};
    destination.rules = {Text()};
    destination.overrides = {entry};
    report.destination = destination;

    const std::string out = ShapingJson(report, now_);
    const std::optional<nlohmann::json> json = ParseStrictJson(out);
    ASSERT_TRUE(json.has_value()) << absl::CHexEscape(out);
    ASSERT_EQ((*json)["policy_file"].get<std::string>(), Latin1Reading(report.policy_file));
    ASSERT_EQ((*json)["overrides"][0]["reason"].get<std::string>(), Latin1Reading(entry.reason));
    ASSERT_EQ((*json)["overrides"][0]["seconds_left"].get<int64_t>(), 1800);
    ASSERT_EQ((*json)["troubled_sites"][0]["last_failure"].get<std::string>(),
              Latin1Reading(report.troubled_sites[0].last_failure));
    ASSERT_EQ((*json)["throttles"][0]["max_message_rate"].get<std::string>(), "5/s,max_burst=1");
    ASSERT_EQ((*json)["destination"]["rules"][0].get<std::string>(),
              Latin1Reading(destination.rules[0]));

    const std::string page =
        StatusJson(ThroughputHistory(), {}, now_, /*per_shard=*/false, &report);
    const std::optional<nlohmann::json> page_json = ParseStrictJson(page);
    ASSERT_TRUE(page_json.has_value()) << absl::CHexEscape(page);
    ASSERT_EQ((*page_json)["overrides"][0]["cause"].get<std::string>(), Latin1Reading(entry.cause));
    ASSERT_EQ((*page_json)["delayed_sites"][0]["site"].get<std::string>(),
              Latin1Reading(report.troubled_sites[0].key));
  }
}

}  // namespace
}  // namespace tern::tools::ternd
