// ternctl: the operator's tool. Talks to a running ternd over its admin endpoint.
//
//   ternctl queue [FILTERS] [--limit=N]       list queued messages
//   ternctl show ID                           envelope, headers, attempts with their replies
//   ternctl hold|release|flush ID... | FILTERS
//   ternctl delete|bounce ID... | FILTERS | --all
//   ternctl stats                             per shard and destination, rates
//   ternctl metrics                           the Prometheus metrics
//   ternctl passwd USER --users_file=F [--senders=a@x,@y]   set an AUTH password
// FILTERS: --domain=D --sender=S --recipient=R --min_age=DURATION --max_age=DURATION
// --state=queued|deferred|held|active. Every command takes --admin=HOST:PORT and --json.
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "net/http_query.h"
#include "net/listen_socket.h"
#include "tools/program_usage.h"
#include "tools/ternctl_passwd.h"

ABSL_FLAG(std::string, admin, "127.0.0.1:9025", "ternd's --admin_listen address");
ABSL_FLAG(bool, json, false, "machine-readable output (JSON)");
ABSL_FLAG(uint64_t, limit, 10000, "list at most this many messages");
ABSL_FLAG(std::string, domain, "",
          "messages with a recipient left at this domain (.D: and subdomains)");
ABSL_FLAG(std::string, sender, "", "messages whose sender contains this (<> for bounces)");
ABSL_FLAG(std::string, recipient, "", "messages with a recipient left containing this");
ABSL_FLAG(std::optional<absl::Duration>, min_age, std::nullopt,
          "messages received at least this long ago (e.g. 1h)");
ABSL_FLAG(std::optional<absl::Duration>, max_age, std::nullopt,
          "messages received at most this long ago");
ABSL_FLAG(std::string, state, "", "queued (never tried), deferred, held or active");
ABSL_FLAG(bool, all, false,
          "delete / bounce: every message (without it a filter or ids are needed)");
ABSL_FLAG(std::string, users_file, "", "passwd: ternd's --auth_users_file");
ABSL_FLAG(std::string, senders, "",
          "passwd: the senders USER owns for --sender_login_match (addresses or @domain, "
          "comma-separated; without the flag the current list is kept)");

namespace tern::ternctl {
namespace {

// One HTTP/1.0 request; returns the body of a 200 answer.
absl::StatusOr<std::string> HttpRequest(const std::string& admin, absl::string_view method,
                                        const std::string& target) {
  auto address = net::ParseSocketAddress(admin);
  if (!address.ok()) return address.status();
  int fd = socket(address->storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  timeval timeout{30, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  if (connect(fd, reinterpret_cast<const sockaddr*>(&address->storage), address->length) != 0) {
    int err = errno;
    close(fd);
    return absl::UnavailableError(
        absl::StrCat("cannot reach ternd at ", admin, ": ", strerror(err)));
  }
  std::string request = absl::StrCat(method, " ", target, " HTTP/1.0\r\nHost: ", admin,
                                     "\r\nContent-Length: 0\r\n\r\n");
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    close(fd);
    return absl::UnavailableError("send failed");
  }
  std::string response;
  char chunk[65536];
  while (true) {
    ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
    if (n < 0) {
      int err = errno;
      close(fd);
      return absl::UnavailableError(absl::StrCat("recv: ", strerror(err)));
    }
    if (n == 0) break;
    response.append(chunk, static_cast<size_t>(n));
  }
  close(fd);
  size_t header_end = response.find("\r\n\r\n");
  if (header_end == std::string::npos || response.compare(0, 9, "HTTP/1.0 ") != 0) {
    return absl::DataLossError("malformed answer from ternd");
  }
  if (response.compare(9, 3, "200") != 0) {
    return absl::FailedPreconditionError(absl::StrCat("ternd answered ",
                                                      response.substr(9, response.find('\r') - 9),
                                                      ": ", response.substr(header_end + 4)));
  }
  return response.substr(header_end + 4);
}

int Passwd(const std::vector<char*>& args) {
  PasswdRequest request;
  request.users_file = absl::GetFlag(FLAGS_users_file);
  if (args.size() != 3 || request.users_file.empty()) {
    fprintf(stderr, "usage: ternctl passwd USER --users_file=FILE [--senders=LIST]\n");
    return 2;
  }
  request.user = args[2];
  request.senders = absl::GetFlag(FLAGS_senders);
  request.set_senders = !request.senders.empty();
  absl::StatusOr<std::string> password = ReadPassword();
  if (!password.ok()) {
    fprintf(stderr, "ternctl: %s\n", std::string(password.status().message()).c_str());
    return 1;
  }
  request.password = *std::move(password);
  if (absl::Status set = SetPassword(request); !set.ok()) {
    fprintf(stderr, "ternctl: %s\n", std::string(set.message()).c_str());
    return 1;
  }
  fprintf(stderr, "ternctl: password of %s set in %s (ternd reads it at start)\n",
          request.user.c_str(), request.users_file.c_str());
  return 0;
}

// The filter flags and ids as query parameters ("&domain=..&id=..").
std::string FilterQuery(const std::vector<char*>& args, size_t first_id) {
  std::string query;
  auto add = [&](absl::string_view key, absl::string_view value) {
    absl::StrAppend(&query, "&", key, "=", net::QueryEscape(value));
  };
  for (size_t i = first_id; i < args.size(); ++i) add("id", args[i]);
  if (!absl::GetFlag(FLAGS_domain).empty()) add("domain", absl::GetFlag(FLAGS_domain));
  if (!absl::GetFlag(FLAGS_sender).empty()) add("sender", absl::GetFlag(FLAGS_sender));
  if (!absl::GetFlag(FLAGS_recipient).empty()) add("recipient", absl::GetFlag(FLAGS_recipient));
  if (!absl::GetFlag(FLAGS_state).empty()) add("state", absl::GetFlag(FLAGS_state));
  if (auto age = absl::GetFlag(FLAGS_min_age)) {
    add("min_age", absl::StrCat(absl::ToInt64Seconds(*age)));
  }
  if (auto age = absl::GetFlag(FLAGS_max_age)) {
    add("max_age", absl::StrCat(absl::ToInt64Seconds(*age)));
  }
  if (absl::GetFlag(FLAGS_all)) add("all", "1");
  return query;
}

constexpr const char* kUsage =
    "usage: ternctl [--admin=HOST:PORT] [--json] COMMAND\n"
    "  queue [FILTERS] [--limit=N]\n"
    "  show ID\n"
    "  hold|release|flush [ID...] [FILTERS]     (flush without any: every message)\n"
    "  delete|bounce ID... | FILTERS | --all\n"
    "  stats | metrics\n"
    "  passwd USER --users_file=FILE [--senders=LIST]\n"
    "FILTERS: --domain=D --sender=S --recipient=R --min_age=1h --max_age=10m "
    "--state=queued|deferred|held|active\n";

int Main(const std::vector<char*>& args) {
  if (args.size() < 2) {
    fputs(kUsage, stderr);
    return 2;
  }
  const std::string command = args[1];
  if (command == "passwd") return Passwd(args);
  const std::string admin = absl::GetFlag(FLAGS_admin);
  const std::string format = absl::GetFlag(FLAGS_json) ? "format=json" : "format=text";
  std::string method = "GET";
  std::string target;
  if (command == "queue") {
    target = absl::StrCat("/queue?", format, "&limit=", absl::GetFlag(FLAGS_limit),
                          FilterQuery(args, 2));
  } else if (command == "show") {
    if (args.size() != 3) {
      fputs("usage: ternctl show ID\n", stderr);
      return 2;
    }
    target = absl::StrCat("/message?", format, "&id=", net::QueryEscape(args[2]));
  } else if (command == "hold" || command == "release" || command == "flush" ||
             command == "delete" || command == "bounce") {
    method = "POST";
    target = absl::StrCat("/", command, "?", format, FilterQuery(args, 2));
  } else if (command == "stats") {
    target = absl::StrCat("/stats?", format);
  } else if (command == "metrics") {
    target = "/metrics";
  } else {
    fprintf(stderr, "ternctl: unknown command '%s'\n%s", command.c_str(), kUsage);
    return 2;
  }
  auto body = HttpRequest(admin, method, target);
  if (!body.ok()) {
    fprintf(stderr, "ternctl: %s\n", std::string(body.status().message()).c_str());
    return 1;
  }
  fwrite(body->data(), 1, body->size(), stdout);
  return 0;
}

}  // namespace
}  // namespace tern::ternctl

int main(int argc, char** argv) {
  tern::tools::ConfigureProgramUsage(
      {.program = "ternctl", .summary = tern::ternctl::kUsage, .flag_files = {"tools/ternctl.cc"}});
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  return tern::ternctl::Main(args);
}
