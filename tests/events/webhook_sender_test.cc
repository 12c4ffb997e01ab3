// The webhook sender against a real HTTP(S) server (webhook_receiver.py): every event at
// least once, signatures, a receiver down and back, max_age, stop while down, TLS checks.
#include "events/webhook_sender.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "absl/strings/escaping.h"
#include "events_test_util.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "webhook_receiver_process.h"

namespace tern::events {
namespace {

constexpr char kSecret[] = "s3cret-for-tests";

std::string Hmac(const std::string& body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), kSecret, sizeof(kSecret) - 1,
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &length);
  return "sha256=" +
         absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(mac), length));
}

struct Received {
  std::map<std::string, int> acknowledged_ids;  // event_id -> times received with a 200
  int requests = 0;
  int bad_signatures = 0;
  int bad_content_types = 0;
};

Received ReadRecord(const std::string& path) {
  Received received;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    nlohmann::json request = nlohmann::json::parse(line);
    ++received.requests;
    std::string body = request["body"];
    if (request["signature"].is_null() || request["signature"] != Hmac(body)) {
      ++received.bad_signatures;
    }
    if (request["content_type"] != "application/json") ++received.bad_content_types;
    if (request["status"] != 200) continue;
    for (const nlohmann::json& event : nlohmann::json::parse(body)) {
      ++received.acknowledged_ids[event["event_id"]];
    }
  }
  return received;
}

bool WaitFor(const std::function<bool()>& done, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

class WebhookSenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ScratchDirectory();
    record_ = dir_ + "/record.jsonl";
    secret_file_ = dir_ + "/secret";
    std::ofstream(secret_file_) << kSecret << "\n";
    JournalOptions options;
    options.directory = dir_ + "/journal";
    options.sync = false;  // the journal's durability is tested on its own
    absl::StatusOr<std::unique_ptr<EventJournal>> journal = EventJournal::Open(options);
    ASSERT_TRUE(journal.ok()) << journal.status();
    journal_ = *std::move(journal);
  }
  void TearDown() override {
    if (sender_) sender_->Stop();
    sender_.reset();
    journal_.reset();
    std::filesystem::remove_all(dir_);
  }

  WebhookSenderOptions SenderOptions(const std::string& url) {
    WebhookSenderOptions options;
    options.url = url;
    options.secret_file = secret_file_;
    options.batch = 7;
    options.timeout = absl::Seconds(5);
    options.backoff_min = absl::Milliseconds(10);
    options.backoff_max = absl::Milliseconds(80);
    options.idle_poll = absl::Milliseconds(50);
    return options;
  }
  void StartSender(const WebhookSenderOptions& options) {
    absl::StatusOr<std::unique_ptr<WebhookSender>> sender =
        WebhookSender::Start(options, journal_.get());
    ASSERT_TRUE(sender.ok()) << sender.status();
    sender_ = *std::move(sender);
  }
  std::vector<Event> AppendEvents(int count, absl::Duration age = absl::ZeroDuration()) {
    std::vector<Event> events;
    for (int i = 0; i < count; ++i) {
      Event event = TestEvent(i);
      event.event_time -= age;
      events.push_back(event);
      EXPECT_TRUE(AppendAndWait(journal_.get(), {event}).ok());
    }
    return events;
  }
  bool AllAcknowledged() { return journal_->acknowledged() == journal_->last_durable_sequence(); }
  // A port nothing listens on: a receiver's, after it stopped.
  int DeadPort() {
    WebhookReceiverProcess receiver(record_, {});
    EXPECT_TRUE(receiver.Start());
    int port = receiver.port();
    receiver.Stop();
    return port;
  }

  std::string dir_, record_, secret_file_;
  std::unique_ptr<EventJournal> journal_;
  std::unique_ptr<WebhookSender> sender_;
};

TEST_F(WebhookSenderTest, EveryEventArrivesSignedDespiteFailures) {
  WebhookReceiverProcess receiver(record_, {"--fail_percent", "30"});
  ASSERT_TRUE(receiver.Start());
  StartSender(SenderOptions(absl::StrCat("http://127.0.0.1:", receiver.port(), "/hook")));
  std::vector<Event> events = AppendEvents(150);
  ASSERT_TRUE(WaitFor([&] { return AllAcknowledged(); }, absl::Seconds(60)));
  sender_->Stop();
  receiver.Stop();
  Received received = ReadRecord(record_);
  for (const Event& event : events) {
    EXPECT_GE(received.acknowledged_ids[event.event_id], 1) << event.event_id;
  }
  EXPECT_EQ(received.acknowledged_ids.size(), events.size());
  EXPECT_EQ(received.bad_signatures, 0);
  EXPECT_EQ(received.bad_content_types, 0);
  WebhookSenderMetrics metrics = sender_->metrics();
  EXPECT_GT(metrics.failures[static_cast<int>(WebhookFailure::kStatus)], 0u);  // 30% of 503s
  EXPECT_GE(metrics.posted_events, events.size());
  EXPECT_EQ(metrics.posted_batches + metrics.failures[static_cast<int>(WebhookFailure::kStatus)],
            uint64_t(received.requests));
  EXPECT_EQ(journal_->metrics().backlog_events, 0u);
}

TEST_F(WebhookSenderTest, BatchBodyStaysBelowItsBound) {
  WebhookReceiverProcess receiver(record_, {});
  ASSERT_TRUE(receiver.Start());
  WebhookSenderOptions options =
      SenderOptions(absl::StrCat("http://127.0.0.1:", receiver.port(), "/"));
  options.batch = 100;
  options.batch_bytes_max = 70'000;
  std::vector<Event> events;
  for (int i = 0; i < 12; ++i) {
    events.push_back(TestEvent(i, 5000));
    ASSERT_TRUE(AppendAndWait(journal_.get(), {events.back()}).ok());
  }
  StartSender(options);
  ASSERT_TRUE(WaitFor([&] { return AllAcknowledged(); }, absl::Seconds(30)));
  std::ifstream in(record_);
  std::string line;
  int posts = 0;
  while (std::getline(in, line)) {
    std::string body = nlohmann::json::parse(line)["body"];
    EXPECT_LE(body.size(), options.batch_bytes_max);
    EXPECT_LE(nlohmann::json::parse(body).size(), 2u);
    ++posts;
  }
  EXPECT_GE(posts, 6);
  Received received = ReadRecord(record_);
  for (const Event& event : events) EXPECT_GE(received.acknowledged_ids[event.event_id], 1);
}

TEST_F(WebhookSenderTest, ReceiverDownThenBack) {
  int port = DeadPort();
  StartSender(SenderOptions(absl::StrCat("http://127.0.0.1:", port, "/")));
  std::vector<Event> events = AppendEvents(30);
  ASSERT_TRUE(WaitFor(
      [&] { return sender_->metrics().failures[static_cast<int>(WebhookFailure::kConnect)] >= 3; },
      absl::Seconds(20)));
  EXPECT_EQ(journal_->acknowledged(), 0u);
  EXPECT_GT(sender_->metrics().backoff, absl::ZeroDuration());
  WebhookReceiverProcess receiver(record_, {});
  ASSERT_TRUE(receiver.Start(port));
  ASSERT_TRUE(WaitFor([&] { return AllAcknowledged(); }, absl::Seconds(30)));
  Received received = ReadRecord(record_);
  for (const Event& event : events) EXPECT_GE(received.acknowledged_ids[event.event_id], 1);
  EXPECT_EQ(sender_->metrics().last_status, 200);
  EXPECT_EQ(sender_->metrics().consecutive_failures, 0u);
}

TEST_F(WebhookSenderTest, EventsOlderThanMaxAgeAreDropped) {
  WebhookSenderOptions options = SenderOptions(absl::StrCat("http://127.0.0.1:", DeadPort(), "/"));
  options.max_age = absl::Hours(1);
  AppendEvents(20, absl::Hours(2));  // too old: given up, never posted
  AppendEvents(5);                   // fresh: retried while the receiver is down
  StartSender(options);
  ASSERT_TRUE(WaitFor([&] { return journal_->acknowledged() == 20; }, absl::Seconds(20)));
  EXPECT_EQ(journal_->metrics().dropped_by_age, 20u);
  EXPECT_EQ(sender_->metrics().dropped_by_age, 20u);
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(journal_->acknowledged(), 20u);  // the fresh ones still wait
  EXPECT_EQ(journal_->metrics().backlog_events, 5u);
  EXPECT_EQ(sender_->metrics().posted_events, 0u);
}

TEST_F(WebhookSenderTest, StopsPromptlyWhileTheReceiverIsDown) {
  WebhookSenderOptions options = SenderOptions(absl::StrCat("http://127.0.0.1:", DeadPort(), "/"));
  options.backoff_min = absl::Minutes(5);
  options.backoff_max = absl::Minutes(5);
  StartSender(options);
  AppendEvents(3);
  ASSERT_TRUE(
      WaitFor([&] { return sender_->metrics().consecutive_failures >= 1; }, absl::Seconds(20)));
  absl::Time start = absl::Now();
  sender_->Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  EXPECT_EQ(journal_->acknowledged(), 0u);
}

// A receiver that accepts the connection and never answers: the request times out, and
// Stop interrupts the wait for the answer.
TEST_F(WebhookSenderTest, StopsPromptlyMidRequest) {
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(::listen(listener, 4), 0);
  socklen_t length = sizeof(address);
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
  WebhookSenderOptions options =
      SenderOptions(absl::StrCat("http://127.0.0.1:", ntohs(address.sin_port), "/"));
  options.timeout = absl::Minutes(5);
  StartSender(options);
  AppendEvents(1);
  absl::SleepFor(absl::Milliseconds(200));
  absl::Time start = absl::Now();
  sender_->Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  ::close(listener);
}

// https with a CA made here: verification on; a certificate for another name is refused.
class WebhookSenderTlsTest : public WebhookSenderTest {
 protected:
  bool MakeCertificates() {
    std::string d = dir_;
    std::ofstream(d + "/good.ext") << "subjectAltName=IP:127.0.0.1,DNS:localhost\n";
    std::ofstream(d + "/wrong.ext") << "subjectAltName=DNS:other.example\n";
    std::string quiet = " >/dev/null 2>&1";
    std::string commands[] = {
        "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=TernTestCA -keyout " + d +
            "/ca.key -out " + d + "/ca.pem",
    };
    for (const std::string& command : commands) {
      if (std::system((command + quiet).c_str()) != 0) return false;
    }
    for (const char* name : {"good", "wrong"}) {
      std::string n = d + "/" + name;
      if (std::system(("openssl req -newkey rsa:2048 -nodes -subj /CN=webhook -keyout " + n +
                       ".key -out " + n + ".csr" + quiet)
                          .c_str()) != 0 ||
          std::system(("openssl x509 -req -days 2 -in " + n + ".csr -CA " + d + "/ca.pem -CAkey " +
                       d + "/ca.key -CAcreateserial -extfile " + n + ".ext -out " + n + ".pem" +
                       quiet)
                          .c_str()) != 0) {
        return false;
      }
    }
    return true;
  }
};

TEST_F(WebhookSenderTlsTest, VerifiedHttpsDelivers) {
  ASSERT_TRUE(MakeCertificates());
  WebhookReceiverProcess receiver(
      record_, {"--tls_cert", dir_ + "/good.pem", "--tls_key", dir_ + "/good.key"});
  ASSERT_TRUE(receiver.Start());
  WebhookSenderOptions options =
      SenderOptions(absl::StrCat("https://127.0.0.1:", receiver.port(), "/tls"));
  options.ca_file = dir_ + "/ca.pem";
  StartSender(options);
  std::vector<Event> events = AppendEvents(20);
  ASSERT_TRUE(WaitFor([&] { return AllAcknowledged(); }, absl::Seconds(30)));
  Received received = ReadRecord(record_);
  for (const Event& event : events) EXPECT_GE(received.acknowledged_ids[event.event_id], 1);
  EXPECT_EQ(received.bad_signatures, 0);
}

// A host name (SNI and SSL_set1_host) rather than an address.
TEST_F(WebhookSenderTlsTest, VerifiedHttpsByName) {
  ASSERT_TRUE(MakeCertificates());
  WebhookReceiverProcess receiver(
      record_, {"--tls_cert", dir_ + "/good.pem", "--tls_key", dir_ + "/good.key"});
  ASSERT_TRUE(receiver.Start());
  WebhookSenderOptions options =
      SenderOptions(absl::StrCat("https://localhost:", receiver.port(), "/tls"));
  options.ca_file = dir_ + "/ca.pem";
  StartSender(options);
  AppendEvents(5);
  ASSERT_TRUE(WaitFor([&] { return AllAcknowledged(); }, absl::Seconds(30)));
  EXPECT_EQ(sender_->metrics().failures[static_cast<int>(WebhookFailure::kTls)], 0u);
}

TEST_F(WebhookSenderTlsTest, WrongHostNameIsRefused) {
  ASSERT_TRUE(MakeCertificates());
  WebhookReceiverProcess receiver(
      record_, {"--tls_cert", dir_ + "/wrong.pem", "--tls_key", dir_ + "/wrong.key"});
  ASSERT_TRUE(receiver.Start());
  WebhookSenderOptions options =
      SenderOptions(absl::StrCat("https://127.0.0.1:", receiver.port(), "/tls"));
  options.ca_file = dir_ + "/ca.pem";
  StartSender(options);
  AppendEvents(3);
  ASSERT_TRUE(WaitFor(
      [&] { return sender_->metrics().failures[static_cast<int>(WebhookFailure::kTls)] >= 2; },
      absl::Seconds(20)));
  EXPECT_EQ(journal_->acknowledged(), 0u);
  EXPECT_EQ(ReadRecord(record_).requests, 0);
}

TEST_F(WebhookSenderTlsTest, UnknownCaIsRefused) {
  ASSERT_TRUE(MakeCertificates());
  WebhookReceiverProcess receiver(
      record_, {"--tls_cert", dir_ + "/good.pem", "--tls_key", dir_ + "/good.key"});
  ASSERT_TRUE(receiver.Start());
  // The system's CAs: they never signed the test's certificate.
  StartSender(SenderOptions(absl::StrCat("https://127.0.0.1:", receiver.port(), "/tls")));
  AppendEvents(2);
  ASSERT_TRUE(WaitFor(
      [&] { return sender_->metrics().failures[static_cast<int>(WebhookFailure::kTls)] >= 1; },
      absl::Seconds(20)));
  EXPECT_EQ(journal_->acknowledged(), 0u);
}

TEST(WebhookSenderStart, RefusesBadOptions) {
  ScratchDir scratch;
  const std::string& dir = scratch.path();
  JournalOptions journal_options;
  journal_options.directory = dir + "/journal";
  auto journal = EventJournal::Open(journal_options);
  ASSERT_TRUE(journal.ok());
  WebhookSenderOptions options;
  options.url = "ftp://x/";
  EXPECT_FALSE(WebhookSender::Start(options, journal->get()).ok());
  options.url = "http://127.0.0.1:1/";
  options.secret_file = dir + "/missing";
  EXPECT_FALSE(WebhookSender::Start(options, journal->get()).ok());
  options.secret_file = "";
  options.batch = 0;
  EXPECT_FALSE(WebhookSender::Start(options, journal->get()).ok());
}

}  // namespace
}  // namespace tern::events
