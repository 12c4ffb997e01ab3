// ternctl: the operator's tool. Talks to a running ternd over its admin endpoint.
//
//   ternctl queue [FILTERS] [--limit=N]       list queued messages (--jsonl: one per line)
//   ternctl show ID [--body]                  envelope, headers, attempts with their replies
//                                             (--body: the stored message itself)
//   ternctl hold|release|flush ID... | FILTERS    (hold --duration=2h: released then)
//   ternctl delete|bounce ID... | FILTERS | --all     (bounce --reason=TEXT)
// An ID of "-" reads ids from standard input, one a line (sent in batches).
//   ternctl qshape [FILTERS] [--top=N]        messages by destination domain and age
//   ternctl config                            ternd's flags that differ from their defaults
//   ternctl stats                             per shard and destination, rates
//   ternctl metrics                           the Prometheus metrics
//   ternctl passwd USER --users_file=F [--senders=a@x,@y]   set an AUTH password
//   ternctl report [--since=24h] [--until=T] [--delivery_log=F] [--top=N]   the sending report
//   ternctl shaping [--destination=D] [--source=NAME]   shaping policy, suspensions, overrides,
//                                             troubled sites, throttles (D: what applies to it)
//   ternctl suspend DOMAIN | --provider=NAME | --site=MX1,MX2 | --route=HOST:PORT [--source=NAME]
//   --duration=30m
//           --reason=TEXT                     no deliveries there until the duration ends
//   ternctl resume DOMAIN | --provider=NAME | --site=MX1,MX2 | --route=HOST:PORT [--source=NAME]
//   ternctl classify 'REPLY'                  the bounce class ternd's rules give a reply
//   ternctl suppress list [TEXT] [--exact] [--scope=S] [--reason=R] [--limit=N]
//   ternctl suppress add ADDRESS|DOMAIN [--scope=S] [--reason=R] [--expires=30d|RFC3339]
//           [--event=TEXT]                    written durably before the answer
//   ternctl suppress remove ADDRESS|DOMAIN [--scope=S]
//   ternctl suppress import FILE|-            CSV (address,scope,reason,created,expires,
//                                             event), checked whole first: all or nothing
//   ternctl suppress export [--json]          CSV (--json: JSON lines) to standard output
// FILTERS: --domain=D --sender=S --recipient=R --min_age=DURATION --max_age=DURATION
// --state=queued|deferred|held|active (durations as ternd's: 30s, 5m, 1h30m, 2d). Every
// command takes --admin=HOST:PORT and --json.
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "core/duration_text.h"
#include "net/admin_token.h"
#include "net/http_query.h"
#include "net/listen_socket.h"
#include "suppression/entry.h"
#include "suppression/suppression_csv.h"
#include "tools/program_usage.h"
#include "tools/ternctl/report_command.h"
#include "tools/ternctl_ids.h"
#include "tools/ternctl_passwd.h"

ABSL_FLAG(std::string, admin, "127.0.0.1:9025", "ternd's --admin_listen address");
ABSL_FLAG(std::string, admin_token_file, "",
          "file holding ternd's admin bearer token (ternd's --admin_token_file; default: "
          "$TERN_ADMIN_TOKEN_FILE)");
ABSL_FLAG(bool, json, false, "machine-readable output (JSON)");
ABSL_FLAG(bool, jsonl, false,
          "queue, qshape, config: JSON Lines, one object (message, domain row, flag) per line");
ABSL_FLAG(uint64_t, limit, 10000, "list at most this many messages");
ABSL_FLAG(std::string, domain, "",
          "messages with a recipient left at this domain (.D: and subdomains)");
ABSL_FLAG(std::string, sender, "", "messages whose sender contains this (<> for bounces)");
ABSL_FLAG(std::string, recipient, "", "messages with a recipient left containing this");
ABSL_FLAG(std::string, min_age, "",
          "messages received at least this long ago (e.g. 1h, 2d: as ternd's durations)");
ABSL_FLAG(std::string, max_age, "", "messages received at most this long ago");
ABSL_FLAG(bool, body, false, "show: print the stored message (header and body)");
// --top is defined with `report` (tools/ternctl/report_command.cc); qshape reads it too.
ABSL_DECLARE_FLAG(int, top);
ABSL_FLAG(std::string, duration, "",
          "hold: released automatically after this long (e.g. 2h, 1d; kept across restarts)");
ABSL_FLAG(std::string, reason, "",
          "bounce: the DSN's diagnostic text (one line of printable ASCII, up to 200 bytes); "
          "suppress: hard-bounce, complaint, unsubscribe or manual");
ABSL_FLAG(std::string, state, "", "queued (never tried), deferred, held or active");
ABSL_FLAG(bool, all, false,
          "delete / bounce: every message (without it a filter or ids are needed)");
ABSL_FLAG(std::string, scope, "",
          "suppress: the sender domain an entry applies to (default: global, every sender)");
ABSL_FLAG(std::string, expires, "",
          "suppress add: the entry ends after this long (30d, 12h) or at this RFC 3339 time");
ABSL_FLAG(std::string, event, "", "suppress add: why, as free text (default \"ternctl\")");
ABSL_FLAG(bool, exact, false, "suppress list: TEXT is the whole address or domain");
ABSL_FLAG(uint64_t, page_entries, 100000,
          "suppress export: entries per request to ternd (the export is paged)");
ABSL_FLAG(uint64_t, import_chunk_bytes, 512 * 1024,
          "suppress import: bytes of CSV per request to ternd (4 KiB to 768 KiB)");
ABSL_FLAG(std::string, destination, "",
          "shaping: also show what the policy gives this recipient domain (no MX lookup)");
ABSL_FLAG(std::string, provider, "", "suspend / resume: a provider block of the shaping policy");
ABSL_FLAG(std::string, route, "",
          "suspend / resume: a --route or --smarthost next hop, HOST:PORT (127.0.0.1:2525)");
ABSL_FLAG(std::string, site, "",
          "suspend / resume: a site, its MX host names comma-separated (mx1.example.net,...)");
ABSL_FLAG(std::string, source, "",
          "shaping, suspend, resume: one egress source (--egress_source NAME); default: every "
          "source");
ABSL_FLAG(std::string, users_file, "", "passwd: ternd's --auth_users_file");
ABSL_FLAG(std::string, senders, "",
          "passwd: the senders USER owns for --sender_login_match (addresses or @domain, "
          "comma-separated; without the flag the current list is kept)");

namespace tern::tools {
namespace {

// One HTTP/1.0 request; returns the body of a 200 answer. Every request says it comes from a
// tool (X-Tern-Request: 1, which ternd wants for changes) and carries the bearer token of
// --admin_token_file (or $TERN_ADMIN_TOKEN_FILE) when one is given.
// `body` is sent as the request's body; `headers`, when given, receives the answer's head.
absl::StatusOr<std::string> HttpRequest(const std::string& admin, absl::string_view method,
                                        const std::string& target, absl::string_view body = "",
                                        std::string* headers = nullptr) {
  auto address = net::ParseSocketAddress(admin);
  if (!address.ok()) return address.status();
  std::string token_file = absl::GetFlag(FLAGS_admin_token_file);
  if (const char* from_env = std::getenv("TERN_ADMIN_TOKEN_FILE");
      token_file.empty() && from_env != nullptr) {
    token_file = from_env;
  }
  std::string authorization;
  if (!token_file.empty()) {
    absl::StatusOr<std::string> token = net::LoadAdminToken(token_file);
    if (!token.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("--admin_token_file: ", token.status().message()));
    }
    authorization = absl::StrCat("Authorization: Bearer ", *token, "\r\n");
  }
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
  std::string request =
      absl::StrCat(method, " ", target, " HTTP/1.0\r\nHost: ", admin, "\r\nX-Tern-Request: 1\r\n",
                   authorization, "Content-Length: ", body.size(), "\r\n\r\n", body);
  for (size_t sent = 0; sent < request.size();) {
    const ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      close(fd);
      return absl::UnavailableError("send failed");
    }
    sent += static_cast<size_t>(n);
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
  if (headers != nullptr) *headers = response.substr(0, header_end + 2);
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

// The filter flags and `ids` as query parameters ("&domain=..&id=..").
absl::StatusOr<std::string> FilterQuery(const std::vector<std::string>& ids) {
  std::string query;
  auto add = [&](absl::string_view key, absl::string_view value) {
    absl::StrAppend(&query, "&", key, "=", net::QueryEscape(value));
  };
  for (const std::string& id : ids) add("id", id);
  if (!absl::GetFlag(FLAGS_domain).empty()) add("domain", absl::GetFlag(FLAGS_domain));
  if (!absl::GetFlag(FLAGS_sender).empty()) add("sender", absl::GetFlag(FLAGS_sender));
  if (!absl::GetFlag(FLAGS_recipient).empty()) add("recipient", absl::GetFlag(FLAGS_recipient));
  if (!absl::GetFlag(FLAGS_state).empty()) add("state", absl::GetFlag(FLAGS_state));
  for (const auto& [key, text] :
       {std::pair<const char*, std::string>{"min_age", absl::GetFlag(FLAGS_min_age)},
        {"max_age", absl::GetFlag(FLAGS_max_age)}}) {
    if (text.empty()) continue;
    absl::StatusOr<absl::Duration> age = core::ParsePositiveDuration(text);
    if (!age.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--", key, ": ", age.status().message()));
    }
    add(key, absl::StrCat(absl::ToInt64Seconds(*age)));
  }
  if (absl::GetFlag(FLAGS_all)) add("all", "1");
  return query;
}

std::vector<std::string> ArgsFrom(const std::vector<char*>& args, size_t first) {
  std::vector<std::string> rest;
  for (size_t i = first; i < args.size(); ++i) rest.emplace_back(args[i]);
  return rest;
}

// Prints `status` and returns `exit_code`.
int Fail(const absl::Status& status, int exit_code) {
  fprintf(stderr, "ternctl: %s\n", std::string(status.message()).c_str());
  return exit_code;
}

// Prints an answer (or the error); false on error.
bool Print(const absl::StatusOr<std::string>& body) {
  if (!body.ok()) {
    fprintf(stderr, "ternctl: %s\n", std::string(body.status().message()).c_str());
    return false;
  }
  fwrite(body->data(), 1, body->size(), stdout);
  return true;
}

// hold, release, flush, delete, bounce: ids (with "-" read from standard input) go in
// batches small enough for the admin server, one request (and one answer printed) each.
int Act(const std::string& admin, const std::string& command, const std::string& format,
        const std::vector<char*>& args) {
  absl::StatusOr<std::vector<std::string>> ids = ExpandIds(ArgsFrom(args, 2), stdin);
  if (!ids.ok()) return Fail(ids.status(), 1);
  const bool from_input = std::find(args.begin() + 2, args.end(), std::string("-")) != args.end();
  if (from_input && ids->empty()) {
    fprintf(stderr, "ternctl: no ids on standard input: nothing to %s\n", command.c_str());
    return 0;
  }
  std::string options;
  if (const std::string text = absl::GetFlag(FLAGS_duration); !text.empty()) {
    absl::StatusOr<absl::Duration> duration = core::ParsePositiveDuration(text);
    if (!duration.ok()) {
      return Fail(
          absl::InvalidArgumentError(absl::StrCat("--duration: ", duration.status().message())), 2);
    }
    absl::StrAppend(&options, "&duration=", std::max<int64_t>(1, absl::ToInt64Seconds(*duration)));
  }
  if (!absl::GetFlag(FLAGS_reason).empty()) {
    absl::StrAppend(&options, "&reason=", net::QueryEscape(absl::GetFlag(FLAGS_reason)));
  }
  std::vector<std::vector<std::string>> batches = BatchIds(*ids, kIdQueryBytesMax);
  if (batches.empty()) batches.emplace_back();  // filters only
  for (const std::vector<std::string>& batch : batches) {
    absl::StatusOr<std::string> query = FilterQuery(batch);
    if (!query.ok()) return Fail(query.status(), 2);
    if (!Print(
            HttpRequest(admin, "POST", absl::StrCat("/", command, "?", format, *query, options)))) {
      return 1;
    }
  }
  return 0;
}

// suspend, resume: the scope (DOMAIN, --provider or --site) and --source as a query.
absl::StatusOr<std::string> ScopeQuery(const std::vector<char*>& args) {
  std::vector<std::pair<const char*, std::string>> scopes;
  if (args.size() > 3) return absl::InvalidArgumentError("one DOMAIN at most");
  if (args.size() == 3) scopes.emplace_back("domain", args[2]);
  if (!absl::GetFlag(FLAGS_provider).empty()) {
    scopes.emplace_back("provider", absl::GetFlag(FLAGS_provider));
  }
  if (!absl::GetFlag(FLAGS_site).empty()) scopes.emplace_back("site", absl::GetFlag(FLAGS_site));
  if (!absl::GetFlag(FLAGS_route).empty()) {
    scopes.emplace_back("route", absl::GetFlag(FLAGS_route));
  }
  if (scopes.size() != 1) {
    return absl::InvalidArgumentError(
        "name one of DOMAIN, --provider=NAME, --site=MX1,MX2 or --route=HOST:PORT");
  }
  std::string query = absl::StrCat(scopes[0].first, "=", net::QueryEscape(scopes[0].second));
  if (!absl::GetFlag(FLAGS_source).empty()) {
    absl::StrAppend(&query, "&source=", net::QueryEscape(absl::GetFlag(FLAGS_source)));
  }
  return query;
}

// suspend: POST /suspend with the scope, the duration in seconds and the reason.
int SuspendOrResume(const std::string& admin, const std::string& command,
                    const std::vector<char*>& args) {
  absl::StatusOr<std::string> query = ScopeQuery(args);
  if (!query.ok()) return Fail(query.status(), 2);
  if (command == "suspend") {
    const std::string text = absl::GetFlag(FLAGS_duration);
    if (text.empty() || absl::GetFlag(FLAGS_reason).empty()) {
      fputs("ternctl: suspend needs --duration=30m and --reason=TEXT\n", stderr);
      return 2;
    }
    absl::StatusOr<absl::Duration> duration = core::ParsePositiveDuration(text);
    if (!duration.ok()) {
      return Fail(
          absl::InvalidArgumentError(absl::StrCat("--duration: ", duration.status().message())), 2);
    }
    absl::StrAppend(query.operator->(),
                    "&duration=", std::max<int64_t>(1, absl::ToInt64Seconds(*duration)),
                    "&reason=", net::QueryEscape(absl::GetFlag(FLAGS_reason)));
  } else if (!absl::GetFlag(FLAGS_duration).empty() || !absl::GetFlag(FLAGS_reason).empty()) {
    fputs("ternctl: resume takes no --duration or --reason\n", stderr);
    return 2;
  }
  return Print(HttpRequest(admin, "POST", absl::StrCat("/", command, "?", *query))) ? 0 : 1;
}

// suppress import: the whole file is checked here first (a bad line changes nothing), then
// sent in chunks of whole records of about --import_chunk_bytes (a record longer than that
// goes alone), each with the header line; ternd takes a body of at most 1 MiB.

absl::StatusOr<std::string> ReadInput(const std::string& path) {
  FILE* file = path == "-" ? stdin : fopen(path.c_str(), "rb");
  if (file == nullptr) {
    return absl::NotFoundError(absl::StrCat(path, ": ", strerror(errno)));
  }
  std::string text;
  char buffer[65536];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), file)) > 0) text.append(buffer, n);
  const bool failed = ferror(file) != 0;
  if (file != stdin) fclose(file);
  if (failed) return absl::DataLossError(absl::StrCat(path, ": read error"));
  return text;
}

int SuppressImport(const std::string& admin, const std::string& path) {
  absl::StatusOr<std::string> text = ReadInput(path);
  if (!text.ok()) return Fail(text.status(), 1);
  // Validate all of it, and note where each record starts (chunks end on records).
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  suppression::CsvEntryReader reader(*text, now);
  size_t entries = 0;
  {
    suppression::Entry entry;
    while (true) {
      absl::StatusOr<bool> more = reader.Next(&entry);
      if (!more.ok()) {
        return Fail(absl::InvalidArgumentError(
                        absl::StrCat(path, ": ", more.status().message(), " (nothing imported)")),
                    1);
      }
      if (!*more) break;
      ++entries;
    }
  }
  // Split on line ends outside quotes (CSV fields may hold LF inside quotes).
  const std::string& csv = *text;
  size_t header_end = csv.find('\n');
  if (header_end == std::string::npos) header_end = csv.size() - 1;
  const std::string header = csv.substr(0, header_end + 1);
  size_t chunk_start = header_end + 1;
  size_t sent = 0;
  size_t requests = 0;
  auto send = [&](size_t end) -> bool {
    if (end <= chunk_start) return true;
    std::string chunk = header;
    if (!chunk.empty() && chunk.back() != '\n') chunk += '\n';
    chunk.append(csv, chunk_start, end - chunk_start);
    absl::StatusOr<std::string> answer = HttpRequest(admin, "POST", "/suppressions/import", chunk);
    if (!answer.ok()) {
      fprintf(stderr, "ternctl: %s (%zu bytes of the file imported before)\n",
              std::string(answer.status().message()).c_str(), sent);
      return false;
    }
    sent = end;
    chunk_start = end;
    ++requests;
    return true;
  };
  const size_t chunk_bytes =
      std::clamp<uint64_t>(absl::GetFlag(FLAGS_import_chunk_bytes), 4096, 768 * 1024);
  bool quoted = false;
  size_t last_record_end = chunk_start;
  for (size_t i = chunk_start; i < csv.size(); ++i) {
    if (csv[i] == '"') quoted = !quoted;
    if (csv[i] != '\n' || quoted) continue;
    if (i + 1 - chunk_start > chunk_bytes && last_record_end > chunk_start) {
      if (!send(last_record_end)) return 1;
    }
    last_record_end = i + 1;
  }
  if (!send(csv.size())) return 1;
  fprintf(stderr, "ternctl: imported %zu entries (%zu requests)\n", entries, requests);
  return 0;
}

// suppress export: pages of --page_entries, following X-Tern-Next, to standard output.
int SuppressExport(const std::string& admin, const std::string& filter) {
  const bool json = absl::GetFlag(FLAGS_json) || absl::GetFlag(FLAGS_jsonl);
  std::string cursor;
  while (true) {
    std::string target = absl::StrCat("/suppressions/export?format=", json ? "jsonl" : "csv",
                                      "&limit=", absl::GetFlag(FLAGS_page_entries), filter);
    if (!cursor.empty()) absl::StrAppend(&target, "&after=", net::QueryEscape(cursor));
    std::string headers;
    absl::StatusOr<std::string> page = HttpRequest(admin, "GET", target, "", &headers);
    if (!page.ok()) return Fail(page.status(), 1);
    fwrite(page->data(), 1, page->size(), stdout);  // the CSV header: on the first page only
    cursor.clear();
    constexpr char kNext[] = "\r\nX-Tern-Next: ";
    if (const size_t at = headers.find(kNext); at != std::string::npos) {
      const size_t start = at + sizeof(kNext) - 1;
      cursor = headers.substr(start, headers.find('\r', start) - start);
    }
    if (cursor.empty()) break;
  }
  return fflush(stdout) == 0 ? 0 : 1;
}

// suppress list|add|remove|import|export.
int Suppress(const std::string& admin, const std::vector<char*>& args) {
  constexpr const char* kSuppressUsage =
      "usage: ternctl suppress list [TEXT] [--exact] [--scope=S] [--reason=R] [--limit=N] "
      "[--json]\n"
      "       ternctl suppress add ADDRESS|DOMAIN [--scope=S] [--reason=R] [--expires=30d] "
      "[--event=TEXT]\n"
      "       ternctl suppress remove ADDRESS|DOMAIN [--scope=S]\n"
      "       ternctl suppress import FILE|-\n"
      "       ternctl suppress export [--json]\n";
  if (args.size() < 3) {
    fputs(kSuppressUsage, stderr);
    return 2;
  }
  const std::string sub = args[2];
  std::string query;
  if (!absl::GetFlag(FLAGS_scope).empty()) {
    absl::StrAppend(&query, "&scope=", net::QueryEscape(absl::GetFlag(FLAGS_scope)));
  }
  if (!absl::GetFlag(FLAGS_reason).empty()) {
    absl::StrAppend(&query, "&reason=", net::QueryEscape(absl::GetFlag(FLAGS_reason)));
  }
  if (sub == "list" && args.size() <= 4) {
    const std::string format = absl::GetFlag(FLAGS_jsonl)  ? "jsonl"
                               : absl::GetFlag(FLAGS_json) ? "json"
                                                           : "text";
    if (args.size() == 4) absl::StrAppend(&query, "&text=", net::QueryEscape(args[3]));
    if (absl::GetFlag(FLAGS_exact)) absl::StrAppend(&query, "&exact=1");
    const uint64_t limit = std::min<uint64_t>(absl::GetFlag(FLAGS_limit), 100000);
    return Print(
               HttpRequest(admin, "GET",
                           absl::StrCat("/suppressions?format=", format, "&limit=", limit, query)))
               ? 0
               : 1;
  }
  if ((sub == "add" || sub == "remove") && args.size() == 4) {
    absl::StrAppend(&query, "&address=", net::QueryEscape(args[3]));
    if (sub == "remove") {
      if (!absl::GetFlag(FLAGS_reason).empty() || !absl::GetFlag(FLAGS_expires).empty()) {
        fputs("ternctl: suppress remove takes only ADDRESS and --scope\n", stderr);
        return 2;
      }
      return Print(HttpRequest(admin, "POST", absl::StrCat("/unsuppress?", query.substr(1)))) ? 0
                                                                                              : 1;
    }
    if (const std::string expires = absl::GetFlag(FLAGS_expires); !expires.empty()) {
      std::string value = expires;
      if (absl::StatusOr<absl::Duration> duration = core::ParsePositiveDuration(expires);
          duration.ok()) {
        value = absl::StrCat(std::max<int64_t>(1, absl::ToInt64Seconds(*duration)));
      } else if (!suppression::ParseRfc3339(expires).ok()) {
        fputs("ternctl: --expires: a duration (30d, 12h) or an RFC 3339 time\n", stderr);
        return 2;
      }
      absl::StrAppend(&query, "&expires=", net::QueryEscape(value));
    }
    if (!absl::GetFlag(FLAGS_event).empty()) {
      absl::StrAppend(&query, "&event=", net::QueryEscape(absl::GetFlag(FLAGS_event)));
    }
    return Print(HttpRequest(admin, "POST", absl::StrCat("/suppress?", query.substr(1)))) ? 0 : 1;
  }
  if (sub == "import" && args.size() == 4) return SuppressImport(admin, args[3]);
  if (sub == "export" && args.size() == 3) return SuppressExport(admin, query);
  fputs(kSuppressUsage, stderr);
  return 2;
}

constexpr const char* kUsage =
    "usage: ternctl [--admin=HOST:PORT] [--json] COMMAND\n"
    "  queue [FILTERS] [--limit=N] [--jsonl]\n"
    "  show ID [--body]\n"
    "  hold|release|flush [ID...] [FILTERS]     (flush without any: every message;\n"
    "                                           hold [--duration=2h]: released then)\n"
    "  delete|bounce ID... | FILTERS | --all     (bounce [--reason=TEXT])\n"
    "  (an ID of - reads ids from standard input, one a line)\n"
    "  qshape [FILTERS] [--top=N]               messages by domain and age (minutes)\n"
    "  config                                   ternd's non-default flags\n"
    "  stats | metrics\n"
    "  passwd USER --users_file=FILE [--senders=LIST]\n"
    "  report [--since=24h] [--until=TIME] [--delivery_log=FILE] [--top=N]   (from the log)\n"
    "  shaping [--destination=D] [--source=NAME]   policy, suspensions, overrides, throttles\n"
    "  suspend DOMAIN | --provider=NAME | --site=MX1,MX2 | --route=HOST:PORT [--source=NAME] "
    "--duration=30m "
    "--reason=TEXT\n"
    "  resume DOMAIN | --provider=NAME | --site=MX1,MX2 | --route=HOST:PORT [--source=NAME]\n"
    "  classify 'REPLY'                         the bounce class the rules in force give it\n"
    "  suppress list [TEXT] [--exact] [--scope=S] [--reason=R] [--limit=N]\n"
    "  suppress add ADDRESS|DOMAIN [--scope=S] [--reason=R] [--expires=30d] [--event=TEXT]\n"
    "  suppress remove ADDRESS|DOMAIN [--scope=S]\n"
    "  suppress import FILE|-                   CSV: address,scope,reason,created,expires,event\n"
    "  suppress export [--json]                 CSV (or JSON lines) to standard output\n"
    "FILTERS: --domain=D --sender=S --recipient=R --min_age=2d --max_age=10m "
    "--state=queued|deferred|held|active\n";

int Main(const std::vector<char*>& args) {
  if (args.size() < 2) {
    fputs(kUsage, stderr);
    return 2;
  }
  const std::string command = args[1];
  if (command == "passwd") return Passwd(args);
  if (command == "report") {
    if (args.size() != 2) {
      fputs(
          "usage: ternctl report [--since=24h] [--until=TIME] [--json] [--delivery_log=FILE]"
          " [--top=N]\n",
          stderr);
      return 2;
    }
    return ternctl::RunReport(absl::GetFlag(FLAGS_json));
  }
  const std::string admin = absl::GetFlag(FLAGS_admin);
  const std::string format = absl::GetFlag(FLAGS_jsonl)  ? "format=jsonl"
                             : absl::GetFlag(FLAGS_json) ? "format=json"
                                                         : "format=text";
  std::string method = "GET";
  std::string target;
  if (command == "queue") {
    absl::StatusOr<std::string> query = FilterQuery(ArgsFrom(args, 2));
    if (!query.ok()) return Fail(query.status(), 2);
    target = absl::StrCat("/queue?", format, "&limit=", absl::GetFlag(FLAGS_limit), *query);
  } else if (command == "show") {
    if (args.size() != 3) {
      fputs("usage: ternctl show ID\n", stderr);
      return 2;
    }
    target = absl::StrCat("/message?", format, "&id=", net::QueryEscape(args[2]),
                          absl::GetFlag(FLAGS_body) ? "&body=1" : "");
  } else if (command == "hold" || command == "release" || command == "flush" ||
             command == "delete" || command == "bounce") {
    if (!absl::GetFlag(FLAGS_reason).empty() && command != "bounce") {
      fputs("ternctl: --reason is for bounce\n", stderr);
      return 2;
    }
    if (!absl::GetFlag(FLAGS_duration).empty() && command != "hold") {
      fputs("ternctl: --duration is for hold\n", stderr);
      return 2;
    }
    return Act(admin, command, format, args);
  } else if (command == "qshape") {
    absl::StatusOr<std::string> query = FilterQuery(ArgsFrom(args, 2));
    if (!query.ok()) return Fail(query.status(), 2);
    target = absl::StrCat("/qshape?", format, "&top=", absl::GetFlag(FLAGS_top), *query);
  } else if (command == "config") {
    target = absl::StrCat("/config?", format);
  } else if (command == "stats") {
    target = absl::StrCat("/stats?", format);
  } else if (command == "metrics") {
    target = "/metrics";
  } else if (command == "shaping") {
    if (args.size() != 2) {
      fputs("usage: ternctl shaping [--destination=D] [--source=NAME] [--json]\n", stderr);
      return 2;
    }
    target = absl::StrCat("/shaping?", format);
    if (!absl::GetFlag(FLAGS_destination).empty()) {
      absl::StrAppend(&target, "&destination=", net::QueryEscape(absl::GetFlag(FLAGS_destination)));
    }
    if (!absl::GetFlag(FLAGS_source).empty()) {
      absl::StrAppend(&target, "&source=", net::QueryEscape(absl::GetFlag(FLAGS_source)));
    }
  } else if (command == "classify") {
    if (args.size() != 3) {
      fputs("usage: ternctl classify 'REPLY'   (e.g. '550 5.1.1 user unknown')\n", stderr);
      return 2;
    }
    target = absl::StrCat("/classify?", format, "&reply=", net::QueryEscape(args[2]));
  } else if (command == "suspend" || command == "resume") {
    return SuspendOrResume(admin, command, args);
  } else if (command == "suppress") {
    return Suppress(admin, args);
  } else {
    fprintf(stderr, "ternctl: unknown command '%s'\n%s", command.c_str(), kUsage);
    return 2;
  }
  return Print(HttpRequest(admin, method, target)) ? 0 : 1;
}

}  // namespace
}  // namespace tern::tools

int main(int argc, char** argv) {
  tern::tools::ConfigureProgramUsage(
      {.program = "ternctl", .summary = tern::tools::kUsage, .flag_files = {"tools/ternctl.cc"}});
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  return tern::tools::Main(args);
}
