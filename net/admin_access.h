// AdminAccess: who may use the admin endpoint, decided per request before the handler runs.
// It defends the endpoint against the browsers on the relay host (a page may send simple
// cross-origin requests, and DNS rebinding makes a page's own host name point at us) and,
// with a token, against everyone who can reach the port:
//
//   1. Methods: GET and POST only; anything else 405, CORS preflights (OPTIONS) included,
//      so a browser never gets permission for a non-simple cross-origin request.
//   2. Host (RFC 9110 §7.2): the listen IP literal (any IP literal when listening on the
//      wildcard address: an address cannot be rebound), "localhost", or a name in
//      `host_names` (--admin_hosts); with any port or none. Otherwise 421. An HTTP/1.1
//      request without Host is 400 (RFC 9112 §3.2); HTTP/1.0 without Host is accepted:
//      browsers always send Host, so its absence is never a rebinding page.
//   3. With a token (--admin_token_file): every request but GET /healthz needs
//      "Authorization: Bearer TOKEN" (compared in constant time), 401 otherwise.
//   4. POST (every request that changes state): 403 when an Origin header names another
//      origin than http(s)://HOST of the request, and 403 unless it carries
//      "X-Tern-Request: 1" or the right bearer token: a browser sends neither cross-origin
//      without a CORS preflight, which (1) refuses.
//
//   AdminAccess access(listen_address, {.host_names = {"relay1.example.net"}, .token = t});
//   if (std::optional<AdminRefusal> refusal = access.Check(head)) send(refusal->response);
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "net/http_request_head.h"
#include "net/http_response.h"
#include "net/listen_socket.h"

namespace tern::net {

struct AdminRefusal {
  HttpResponse response;
  std::string reason;  // "Host: evil.example is not this endpoint"
};

struct AdminAccessOptions {
  std::vector<std::string> host_names;  // accepted in Host besides the address and localhost
  std::string token;                    // empty: no token needed
};

class AdminAccess {
 public:
  AdminAccess(const SocketAddress& listen, AdminAccessOptions options);

  // nullopt when the request may be handled; otherwise the answer that refuses it (its body
  // says what is missing) and a few words for the log.
  std::optional<AdminRefusal> Check(const HttpRequestHead& head) const;

  // Whether `host` (a Host header's value) names this endpoint (rule 2).
  bool IsAcceptedHost(absl::string_view host) const;

 private:
  bool HasToken(const HttpRequestHead& head) const;

  std::string listen_ip_;  // "127.0.0.1", "::1" (lower case)
  bool listen_wildcard_ = false;
  std::vector<std::string> host_names_;  // lower case, without a trailing dot
  std::string token_;
};

// Whether `address` is a loopback address (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104): the
// admin endpoint may go without a token only there.
bool IsLoopbackAddress(const SocketAddress& address);

// a == b in time that depends on their lengths only.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

}  // namespace tern::net
