// Tests of net/admin_access.h: each rule (methods, Host, token, cross-origin changes) with the
// requests a browser, ternctl, curl and Prometheus send; the loopback test; the comparison.
#include "net/admin_access.h"

#include <string>

#include "gtest/gtest.h"

namespace tern::net {
namespace {

SocketAddress Address(const std::string& text) {
  auto address = ParseSocketAddress(text);
  EXPECT_TRUE(address.ok()) << text;
  return *address;
}

// The status Check answers `request` with (0: handled).
int Status(const AdminAccess& access, const std::string& request) {
  HttpRequestHead head;
  EXPECT_EQ(ParseHttpRequestHead(request, &head), HttpHeadParse::kDone) << request;
  std::optional<AdminRefusal> refusal = access.Check(head);
  if (refusal.has_value()) EXPECT_FALSE(refusal->reason.empty());
  return refusal.has_value() ? refusal->response.status : 0;
}

TEST(AdminAccess, HostIsTheListenAddressLocalhostOrAListedName) {
  AdminAccess v4(Address("127.0.0.1:9025"), {.host_names = {"Relay1.Example.NET."}});
  EXPECT_TRUE(v4.IsAcceptedHost("127.0.0.1"));
  EXPECT_TRUE(v4.IsAcceptedHost("127.0.0.1:9025"));
  EXPECT_TRUE(v4.IsAcceptedHost("localhost:8080"));  // an SSH tunnel's port
  EXPECT_TRUE(v4.IsAcceptedHost("LOCALHOST."));
  EXPECT_TRUE(v4.IsAcceptedHost("relay1.example.net:9025"));
  EXPECT_FALSE(v4.IsAcceptedHost("evil.example"));
  EXPECT_FALSE(v4.IsAcceptedHost("evil.example:9025"));
  EXPECT_FALSE(v4.IsAcceptedHost("127.0.0.2"));
  EXPECT_FALSE(v4.IsAcceptedHost("[127.0.0.1]"));
  EXPECT_FALSE(v4.IsAcceptedHost("127.0.0.1:x"));
  EXPECT_FALSE(v4.IsAcceptedHost("127.0.0.1:"));
  EXPECT_FALSE(v4.IsAcceptedHost(""));
  EXPECT_FALSE(v4.IsAcceptedHost("localhost.evil.example"));

  AdminAccess v6(Address("[::1]:9025"), {});
  EXPECT_TRUE(v6.IsAcceptedHost("[::1]:9025"));
  EXPECT_TRUE(v6.IsAcceptedHost("[0:0::1]"));
  EXPECT_FALSE(v6.IsAcceptedHost("::1"));  // IPv6 needs its brackets in Host
  EXPECT_FALSE(v6.IsAcceptedHost("127.0.0.1"));
  EXPECT_FALSE(v6.IsAcceptedHost("[::1"));

  // On the wildcard address any IP literal names us (an address cannot be rebound).
  AdminAccess any(Address("0.0.0.0:9025"), {.token = "t"});
  EXPECT_TRUE(any.IsAcceptedHost("192.0.2.7:9025"));
  EXPECT_TRUE(any.IsAcceptedHost("[2001:db8::1]"));
  EXPECT_FALSE(any.IsAcceptedHost("relay.example"));
}

TEST(AdminAccess, OnlyGetAndPostNoPreflight) {
  AdminAccess access(Address("127.0.0.1:9025"), {});
  EXPECT_EQ(Status(access, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9025\r\n\r\n"), 0);
  EXPECT_EQ(Status(access,
                   "OPTIONS /delete HTTP/1.1\r\nHost: 127.0.0.1:9025\r\nOrigin: "
                   "http://evil.example\r\nAccess-Control-Request-Method: POST\r\n\r\n"),
            405);
  EXPECT_EQ(Status(access, "PUT / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"), 405);
  EXPECT_EQ(Status(access, "HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"), 405);
}

TEST(AdminAccess, ForeignHostIsMisdirectedAndHttp11NeedsHost) {
  AdminAccess access(Address("127.0.0.1:9025"), {});
  EXPECT_EQ(Status(access, "GET /queue HTTP/1.1\r\nHost: evil.example:9025\r\n\r\n"), 421);
  EXPECT_EQ(Status(access, "GET /queue HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(Status(access, "GET /queue HTTP/1.0\r\n\r\n"), 0);  // not a browser
}

TEST(AdminAccess, ChangesNeedTheHeaderABrowserCannotSendCrossOrigin) {
  AdminAccess access(Address("127.0.0.1:9025"), {});
  // A form post from a page: no X-Tern-Request.
  EXPECT_EQ(Status(access,
                   "POST /delete?all=1 HTTP/1.1\r\nHost: 127.0.0.1:9025\r\nOrigin: "
                   "http://evil.example\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                   "Content-Length: 0\r\n\r\n"),
            403);
  // The header alone does not help a foreign Origin.
  EXPECT_EQ(Status(access,
                   "POST /delete?all=1 HTTP/1.1\r\nHost: 127.0.0.1:9025\r\nOrigin: "
                   "http://evil.example\r\nX-Tern-Request: 1\r\n\r\n"),
            403);
  EXPECT_EQ(Status(access,
                   "POST /hold HTTP/1.1\r\nHost: 127.0.0.1:9025\r\nOrigin: null\r\n"
                   "X-Tern-Request: 1\r\n\r\n"),
            403);
  EXPECT_EQ(Status(access, "POST /flush HTTP/1.1\r\nHost: 127.0.0.1:9025\r\n\r\n"), 403);
  EXPECT_EQ(Status(access, "POST /flush HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Tern-Request: 0\r\n\r\n"),
            403);
  // ternctl, and the endpoint's own page.
  EXPECT_EQ(
      Status(access, "POST /flush HTTP/1.0\r\nHost: 127.0.0.1:9025\r\nX-Tern-Request: 1\r\n\r\n"),
      0);
  EXPECT_EQ(Status(access,
                   "POST /flush HTTP/1.1\r\nHost: 127.0.0.1:9025\r\nOrigin: "
                   "http://127.0.0.1:9025\r\nX-Tern-Request: 1\r\n\r\n"),
            0);
  // GETs change nothing: no header needed.
  EXPECT_EQ(Status(access, "GET /queue HTTP/1.1\r\nHost: 127.0.0.1:9025\r\n\r\n"), 0);
}

TEST(AdminAccess, ATokenIsNeededForAllButHealthz) {
  AdminAccess access(Address("0.0.0.0:9025"), {.token = "s3cret"});
  HttpRequestHead head;
  ASSERT_EQ(ParseHttpRequestHead("GET /queue HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", &head),
            HttpHeadParse::kDone);
  std::optional<AdminRefusal> refusal = access.Check(head);
  ASSERT_TRUE(refusal.has_value());
  EXPECT_EQ(refusal->response.status, 401);
  ASSERT_EQ(refusal->response.headers.size(), 1u);
  EXPECT_EQ(refusal->response.headers[0].first, "WWW-Authenticate");
  EXPECT_NE(refusal->response.body.find("Authorization: Bearer"), std::string::npos);

  EXPECT_EQ(Status(access,
                   "GET /queue HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
                   "s3crex\r\n\r\n"),
            401);
  EXPECT_EQ(Status(access,
                   "GET /queue HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
                   "s3cret2\r\n\r\n"),
            401);
  EXPECT_EQ(Status(access,
                   "GET /queue HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic "
                   "s3cret\r\n\r\n"),
            401);
  EXPECT_EQ(Status(access,
                   "GET /queue HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: bearer "
                   "s3cret\r\n\r\n"),
            0);
  EXPECT_EQ(Status(access, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"), 0);
  EXPECT_EQ(Status(access, "GET /healthz?x=1 HTTP/1.0\r\n\r\n"), 0);
  EXPECT_EQ(Status(access, "POST /healthz HTTP/1.0\r\n\r\n"), 401);
  // The token stands for X-Tern-Request (a browser cannot send it cross-origin either).
  EXPECT_EQ(Status(access,
                   "POST /flush HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
                   "s3cret\r\n\r\n"),
            0);
  // Host is checked before the token: a rebinding page learns nothing either way.
  EXPECT_EQ(Status(access, "GET /queue HTTP/1.1\r\nHost: evil.example\r\n\r\n"), 421);
}

TEST(AdminAccess, LoopbackAddresses) {
  EXPECT_TRUE(IsLoopbackAddress(Address("127.0.0.1:1")));
  EXPECT_TRUE(IsLoopbackAddress(Address("127.255.0.9:1")));
  EXPECT_TRUE(IsLoopbackAddress(Address("[::1]:1")));
  EXPECT_TRUE(IsLoopbackAddress(Address("[::ffff:127.0.0.1]:1")));
  EXPECT_FALSE(IsLoopbackAddress(Address("0.0.0.0:1")));
  EXPECT_FALSE(IsLoopbackAddress(Address("[::]:1")));
  EXPECT_FALSE(IsLoopbackAddress(Address("192.0.2.1:1")));
  EXPECT_FALSE(IsLoopbackAddress(Address("128.0.0.1:1")));
  EXPECT_FALSE(IsLoopbackAddress(Address("[::ffff:10.0.0.1]:1")));
}

TEST(AdminAccess, ConstantTimeEqualsIsEquality) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
  EXPECT_FALSE(ConstantTimeEquals("", "a"));
  EXPECT_FALSE(ConstantTimeEquals(std::string("a\0", 2), "a"));
}

}  // namespace
}  // namespace tern::net
