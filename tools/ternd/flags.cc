// Definitions of ternd's flags (see flags.h). Defaults are what `ternd` with no flags runs
// with: SMTP on 127.0.0.1:2525, admin on 127.0.0.1:9025, spool under ./var/spool.
#include "tools/ternd/flags.h"

#include "absl/flags/flag.h"

ABSL_FLAG(std::vector<std::string>, listen, {"127.0.0.1:2525"},
          "SMTP listen addresses, comma-separated HOST:PORT or [V6]:PORT (port 0: any free)");
ABSL_FLAG(std::vector<std::string>, submission_listen, {},
          "submission (RFC 6409, port 587) listen addresses; STARTTLS offered with --tls_cert");
ABSL_FLAG(std::vector<std::string>, smtps_listen, {},
          "implicit-TLS SMTP (RFC 8314, port 465) listen addresses; needs --tls_cert");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate chain for STARTTLS and --smtps_listen (reloaded on SIGHUP)");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert (reloaded on SIGHUP)");
ABSL_FLAG(absl::Duration, tls_handshake_timeout, absl::Seconds(30),
          "time allowed for a client's TLS handshake (closed without a reply after)");
ABSL_FLAG(std::string, auth_users_file, "",
          "accounts for AUTH PLAIN/LOGIN on --submission_listen and --smtps_listen (offered "
          "under TLS only; mail on those ports then needs AUTH): lines user:scrypt-hash[:senders], "
          "written by `ternctl passwd`");
ABSL_FLAG(bool, sender_login_match, false,
          "an authenticated client may only use the senders it owns (its login when that is an "
          "address, and the senders listed for it; 553 5.7.1 otherwise)");
ABSL_FLAG(uint32_t, auth_attempts_per_minute, 30,
          "AUTH attempts per client address per minute, all shards together (454 4.7.0 "
          "beyond; 0 = unlimited)");
ABSL_FLAG(uint32_t, auth_failures_max, 3,
          "failed AUTH attempts per connection before 421 4.7.0 and close");
ABSL_FLAG(std::string, admin_listen, "127.0.0.1:9025",
          "admin HTTP endpoint (GET /metrics, /queue); empty disables it. Beyond loopback "
          "(127.0.0.0/8, ::1) it needs --admin_token_file");
ABSL_FLAG(std::string, admin_token_file, "",
          "file holding the admin endpoint's bearer token (mode 0600 or 0640, not readable by "
          "others): every request but GET /healthz then needs 'Authorization: Bearer TOKEN'");
ABSL_FLAG(std::vector<std::string>, admin_hosts, {},
          "host names the admin endpoint answers for in the Host header, besides its address "
          "and localhost (comma-separated, e.g. relay1.example.net); others get 421");
ABSL_FLAG(std::string, spool_dir, "var/spool", "spool directory (one shard-N folder per shard)");
ABSL_FLAG(std::string, spool_sync, "fdatasync",
          "fdatasync (default: 250 only after the data is on disk) or none (benchmarks only: "
          "an acknowledged message can be lost on power failure)");
ABSL_FLAG(uint64_t, segment_size, 64ull << 20,
          "spool segment file size in bytes (preallocated); must hold the largest message");
ABSL_FLAG(std::string, segment_prefill, "zero",
          "zero (default: each next segment is written with zeros and synced before use, so that "
          "commits there are pure data writes) or fallocate (preallocated only)");
ABSL_FLAG(int, shards, 0, "number of shards (threads, one per core); 0: the CPUs we may run on");
ABSL_FLAG(std::string, inbound_balance, "handoff",
          "how SMTP connections are spread over the shards: handoff (a shard passes a "
          "connection it accepted to a shard with fewer open connections) or kernel (where "
          "the SO_REUSEPORT hash puts it)");
ABSL_FLAG(std::string, hostname, "", "name in the greeting and Received: (default: gethostname)");
ABSL_FLAG(uint64_t, max_message_size, 35ull << 20,
          "largest message accepted, in bytes (advertised as SIZE; 552 5.3.4 beyond)");
ABSL_FLAG(uint32_t, max_recipients, 1000, "recipients per message (452 4.5.3 beyond)");
ABSL_FLAG(uint32_t, max_connections_per_ip, 50,
          "simultaneous connections per client address, 0 = unlimited; clients in "
          "--relay_networks are exempt (421 4.7.0 beyond)");
ABSL_FLAG(std::vector<std::string>, relay_networks,
          std::vector<std::string>({"127.0.0.0/8", "::1/128"}),
          "client networks (CIDR) allowed to relay to any domain");
ABSL_FLAG(std::vector<std::string>, relay_domains, {},
          "domains accepted from any client (a leading dot also matches subdomains)");
ABSL_FLAG(absl::Duration, idle_timeout, absl::Minutes(5),
          "a command line must be complete within this of the previous request's end "
          "(421 4.4.2 after)");
ABSL_FLAG(absl::Duration, data_timeout, absl::Minutes(10),
          "time a message body starts with; --min_data_rate extends it (421 4.4.2 after)");
ABSL_FLAG(uint64_t, min_data_rate, 500,
          "bytes per second a message body must keep up: each read extends the body's "
          "--data_timeout deadline by bytes / rate (slow senders get 421 4.4.2); 0: any "
          "progress restarts --data_timeout");
ABSL_FLAG(absl::Duration, greet_pause, absl::ZeroDuration(),
          "wait this long before the 220 greeting (not on --smtps_listen); a client that "
          "talks first gets 554 5.5.0 and is closed (0: greet at once)");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(10),
          "on SIGTERM/SIGINT, the longest wait for sessions to close: every session is answered "
          "421 4.3.2 at once (a message not yet acknowledged is left to the client to retry), "
          "replies waiting for a commit are sent first");
ABSL_FLAG(std::string, io_engine, "auto",
          "the I/O engine of every shard: uring (io_uring), epoll, or auto (io_uring, and "
          "epoll with one log line where io_uring is refused: a seccomp profile, "
          "kernel.io_uring_disabled, a kernel before 5.19)");
ABSL_FLAG(uint32_t, recv_buffers, 1024,
          "receive buffers per shard in the provided buffer ring (power of two)");
ABSL_FLAG(uint32_t, recv_buffer_size, 16384, "bytes per receive buffer");
ABSL_FLAG(std::string, user, "",
          "started as root: after binding the ports and opening the spool, become this user "
          "(the spool and the delivery log are handed to it; no capabilities are kept)");
ABSL_FLAG(std::string, ready_file, "",
          "once listening, write 'smtp=HOST:PORT admin=HOST:PORT' lines to this file (tests)");
ABSL_FLAG(std::string, delivery_log, "var/log/delivery.jsonl",
          "delivery log: one JSON line per event (received, delivered, deferred, bounced, "
          "expired); empty disables it");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warning or error");
ABSL_FLAG(bool, check_config, false,
          "verify the configuration and exit, starting nothing: every flag, the certificate "
          "(and its expiry), keys, users file, routes, egress sources and pools, whether the "
          "addresses can be bound and "
          "the spool and delivery log written; prints every problem, exits 1 if any, 0 if none");

// Delivery.
ABSL_FLAG(bool, deliver, true,
          "deliver queued mail (false: only accept and keep it, e.g. to measure acceptance)");
ABSL_FLAG(std::vector<std::string>, route, {},
          "DOMAIN=NEXTHOP routes, repeatable or comma-separated: [HOST]:PORT connects to HOST "
          "itself, HOST:PORT looks up HOST's MX; .DOMAIN matches subdomains");
ABSL_FLAG(std::string, smarthost, "",
          "NEXTHOP for mail no --route matches ([HOST]:PORT or HOST:PORT); empty: the "
          "recipient domain's MX");
ABSL_FLAG(std::vector<std::string>, dns_servers, {},
          "DNS servers for MX and address lookups (IP, IP:PORT, [IPv6]:PORT); empty: "
          "/etc/resolv.conf");
ABSL_FLAG(std::string, retry_schedule, "1m,5m,15m,30m,1h,2h,4h",
          "delays before each retry of a deferred message; the last one repeats");
ABSL_FLAG(std::string, max_queue_lifetime, "5d",
          "how long a message may stay queued before it expires and bounces (e.g. 5d, 36h)");
ABSL_FLAG(uint32_t, max_connections_per_destination, 20,
          "outbound connections open at once to one destination address, all shards together");
ABSL_FLAG(uint32_t, max_messages_per_connection, 1000,
          "messages sent over one outbound connection before it is closed");
ABSL_FLAG(bool, pipeline_transactions, true,
          "pipeline the next message's MAIL, RCPT and DATA/BDAT behind the previous one's end "
          "of data when the next hop offers PIPELINING (RFC 2920); false: one at a time");
ABSL_FLAG(uint32_t, pipeline_depth, 8,
          "with --pipeline_transactions: transactions in flight on one connection at most "
          "(2..16; with BDAT all of them go in one round trip, with DATA two)");
ABSL_FLAG(absl::Duration, connection_idle_timeout, absl::Seconds(30),
          "an idle outbound connection is closed (QUIT) after this");
ABSL_FLAG(absl::Duration, connect_timeout, absl::Seconds(30), "outbound TCP connect timeout");
ABSL_FLAG(std::string, outbound_tls, "opportunistic",
          "outbound STARTTLS: opportunistic (when offered; plaintext otherwise), required "
          "(no delivery without it: deferred with 4.7.10), off; certificates are not verified");
ABSL_FLAG(std::vector<std::string>, outbound_tls_policy, {},
          "NEXTHOP=off|opportunistic|required exceptions to --outbound_tls, repeatable or "
          "comma-separated; NEXTHOP is the recipient domain (MX delivery) or a route's or the "
          "smarthost's host; .DOMAIN matches subdomains");
ABSL_FLAG(std::vector<std::string>, dkim_key, {},
          "DOMAIN:SELECTOR:KEYFILE, repeatable: sign outgoing mail whose From domain is DOMAIN "
          "(or a subdomain) with this PEM key (RSA >= 1024 bits: rsa-sha256; Ed25519: "
          "ed25519-sha256), relaxed/relaxed");
ABSL_FLAG(std::string, bounce_rules, "",
          "TOML file of bounce classification rules, tried in order before the built-in "
          "ones (README: Bounce classification); read again on SIGHUP");
ABSL_FLAG(int32_t, suppress_after, 1,
          "hard bounces (classes bad-mailbox, inactive-mailbox, bad-domain) of one address "
          "that put it on the suppression list (README: Suppression list); 0: bounces never do");
ABSL_FLAG(std::string, suppressed_action, "reject",
          "a recipient on the suppression list: reject (RCPT gets 550 5.1.1) or drop (RCPT "
          "is accepted, the recipient dropped at delivery with a 'suppressed' event)");

// Delivery events on a webhook.
ABSL_FLAG(std::string, webhook, "",
          "http:// or https:// URL that receives every delivery event (received, delivered, "
          "deferred, bounced, expired, suppressed) as POSTed JSON arrays, at least once, from a "
          "durable backlog in SPOOL_DIR/events/ (README: Delivery events on a webhook); https "
          "is verified");
ABSL_FLAG(std::string, webhook_secret_file, "",
          "file holding the secret that signs each POST: X-Tern-Signature: sha256=HEX "
          "(HMAC-SHA256 of the body); empty: unsigned");
ABSL_FLAG(std::string, webhook_ca_file, "",
          "PEM CAs that verify an https --webhook (default: the system's)");
ABSL_FLAG(int32_t, webhook_batch, 100, "events per webhook POST, at most (1-10000)");
ABSL_FLAG(absl::Duration, webhook_max_age, absl::Hours(72),
          "an event the webhook has not acknowledged by this age is given up (counted in "
          "tern_events_dropped_total{reason=\"age\"})");
ABSL_FLAG(uint64_t, webhook_backlog_max_bytes, uint64_t{1} << 30,
          "bound of the webhook's backlog on disk; beyond it the oldest events are dropped "
          "(counted in tern_events_dropped_total{reason=\"size\"}) and mail goes on");
ABSL_FLAG(absl::Duration, webhook_timeout, absl::Seconds(10),
          "a webhook connection, handshake or request that takes longer fails (and is retried)");

ABSL_FLAG(absl::Duration, outbound_reply_timeout, absl::ZeroDuration(),
          "bound on every wait for a remote server's reply; 0: RFC 5321's (5 min, 10 min "
          "after the data)");

// Egress sources and pools.
ABSL_FLAG(std::vector<std::string>, egress_source, {},
          "NAME=IP[@EHLO_NAME], repeatable: a source address delivery may send from (IPv4 or "
          "IPv6, [v6] accepted), with the EHLO name said from it (default: --hostname); must "
          "be an address of this host");
ABSL_FLAG(std::vector<std::string>, egress_pool, {},
          "POOL=NAME[:WEIGHT][,NAME[:WEIGHT]...], repeatable: a pool of --egress_source "
          "names; each attempt picks one by smooth weighted round robin (weight 0..1000, "
          "default 1; 0 drains a source)");
ABSL_FLAG(std::string, default_pool, "",
          "egress pool of mail nothing else assigns one (empty: none, the kernel picks the "
          "source address)");
ABSL_FLAG(std::vector<std::string>, sender_pool, {},
          "DOMAIN=POOL, repeatable: the egress pool of mail whose envelope sender is in DOMAIN "
          "(exact match, case-insensitive), unless the pool header names one");
ABSL_FLAG(std::string, pool_header, "X-Tern-Pool",
          "header naming a message's egress pool, read and removed at reception when pools "
          "are configured (an unknown pool: 554 5.3.0); empty: no header is looked at");

// Traffic shaping.
ABSL_FLAG(std::string, shaping, "",
          "traffic shaping policy (TOML: rates, connection limits, automatic backoff per "
          "provider, site, domain and egress source; README \"Shaping policy\"), re-read on "
          "SIGHUP (a bad file keeps the running policy); empty: built-in defaults. Suspensions "
          "and overrides are kept in <spool_dir>/shaping-state.jsonl");
