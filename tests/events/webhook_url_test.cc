// Parsing the webhook URL: the accepted forms and clear errors.
#include "events/webhook_url.h"

#include "gtest/gtest.h"

namespace tern::events {
namespace {

TEST(WebhookUrl, AcceptedForms) {
  struct Case {
    const char* text;
    bool tls;
    const char* host;
    int port;
    const char* target;
    const char* host_header;
  } cases[] = {
      {"http://hooks.example.com/tern", false, "hooks.example.com", 80, "/tern",
       "hooks.example.com"},
      {"https://hooks.example.com", true, "hooks.example.com", 443, "/", "hooks.example.com"},
      {"http://127.0.0.1:8080/a/b?x=1", false, "127.0.0.1", 8080, "/a/b?x=1", "127.0.0.1:8080"},
      {"https://[2001:db8::1]:8443/hook", true, "2001:db8::1", 8443, "/hook", "[2001:db8::1]:8443"},
      {"https://[::1]/", true, "::1", 443, "/", "[::1]"},
      {"http://h?q", false, "h", 80, "/?q", "h"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<WebhookUrl> url = ParseWebhookUrl(c.text);
    ASSERT_TRUE(url.ok()) << c.text << ": " << url.status();
    EXPECT_EQ(url->tls, c.tls) << c.text;
    EXPECT_EQ(url->host, c.host) << c.text;
    EXPECT_EQ(url->port, c.port) << c.text;
    EXPECT_EQ(url->target, c.target) << c.text;
    EXPECT_EQ(url->HostHeader(), c.host_header) << c.text;
  }
}

TEST(WebhookUrl, RefusedWithTheReason) {
  struct Case {
    const char* text;
    const char* reason;
  } cases[] = {
      {"ftp://h/", "http:// or https://"},
      {"http://", "host"},
      {"http://:80/", "host"},
      {"http://h:0/", "out of range"},
      {"http://h:65536/", "out of range"},
      {"http://h:/", "empty port"},
      {"http://h:8x/", "out of range"},
      {"http://user@h/", "user info"},
      {"http://[::1/", "unclosed"},
      {"http://[nothex]/", "IPv6"},
      {"http://[::1]x/", "after ']'"},
      {"http://h/a b", "spaces"},
      {"http://h/a#frag", "fragment"},
      {"http://h\xc3\xa9/", "host"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<WebhookUrl> url = ParseWebhookUrl(c.text);
    ASSERT_FALSE(url.ok()) << c.text;
    EXPECT_TRUE(absl::IsInvalidArgument(url.status()));
    EXPECT_NE(url.status().message().find(c.reason), absl::string_view::npos)
        << c.text << ": " << url.status();
  }
  EXPECT_FALSE(ParseWebhookUrl("http://h/" + std::string(3000, 'a')).ok());
}

}  // namespace
}  // namespace tern::events
