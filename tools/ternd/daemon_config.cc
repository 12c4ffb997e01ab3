// Implementation of tools/ternd/daemon_config.h.
#include "tools/ternd/daemon_config.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "absl/container/flat_hash_map.h"
#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/duration_text.h"
#include "core/log.h"
#include "net/admin_token.h"
#include "spool/message_record.h"
#include "tools/ternd/delivery_reload.h"
#include "tools/ternd/egress_flags.h"
#include "tools/ternd/flags.h"
#include "tools/ternd/shaping_setup.h"

namespace tern::tools::ternd {
namespace {

std::string DefaultHostname() {
  char name[256] = {0};
  if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

absl::Status FlagError(absl::string_view flag, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", what));
}

absl::StatusOr<delivery::DeliveryConfig> BuildDeliveryConfig(const std::string& hostname) {
  delivery::DeliveryConfig config;
  auto routes =
      delivery::RouteTable::Create(absl::GetFlag(FLAGS_route), absl::GetFlag(FLAGS_smarthost));
  if (!routes.ok()) return FlagError("route/--smarthost", routes.status().message());
  config.routes = *std::move(routes);
  auto lifetime = core::ParsePositiveDuration(absl::GetFlag(FLAGS_max_queue_lifetime));
  if (!lifetime.ok()) return FlagError("max_queue_lifetime", lifetime.status().message());
  auto retry = queue::RetrySchedule::Parse(absl::GetFlag(FLAGS_retry_schedule), *lifetime);
  if (!retry.ok()) return FlagError("retry_schedule", retry.status().message());
  config.retry = *std::move(retry);
  config.client.helo_name = hostname;
  config.client.pipeline_transactions = absl::GetFlag(FLAGS_pipeline_transactions);
  const uint32_t pipeline_depth = absl::GetFlag(FLAGS_pipeline_depth);
  if (pipeline_depth < 2 || pipeline_depth > net::smtp::kPipelineDepthMax) {
    return FlagError("pipeline_depth", absl::StrCat("must be 2..", net::smtp::kPipelineDepthMax));
  }
  config.client.pipeline_depth = pipeline_depth;
  const absl::Duration reply_timeout = absl::GetFlag(FLAGS_outbound_reply_timeout);
  if (reply_timeout < absl::ZeroDuration()) {
    return FlagError("outbound_reply_timeout", "must not be negative");
  }
  if (reply_timeout > absl::ZeroDuration()) {
    for (absl::Duration* t :
         {&config.client.greeting_timeout, &config.client.mail_timeout, &config.client.rcpt_timeout,
          &config.client.data_init_timeout, &config.client.data_block_timeout,
          &config.client.data_final_timeout, &config.client.command_timeout}) {
      *t = reply_timeout;
    }
  }
  config.reporting_mta = hostname;
  config.connect_timeout = absl::GetFlag(FLAGS_connect_timeout);
  if (config.connect_timeout <= absl::ZeroDuration()) {
    return FlagError("connect_timeout", "must be > 0");
  }
  config.max_connections_per_destination = absl::GetFlag(FLAGS_max_connections_per_destination);
  if (config.max_connections_per_destination == 0) {
    return FlagError("max_connections_per_destination", "must be > 0");
  }
  config.max_messages_per_connection = absl::GetFlag(FLAGS_max_messages_per_connection);
  if (config.max_messages_per_connection == 0) {
    return FlagError("max_messages_per_connection", "must be > 0");
  }
  config.connection_idle_timeout = absl::GetFlag(FLAGS_connection_idle_timeout);
  if (config.connection_idle_timeout <= absl::ZeroDuration()) {
    return FlagError("connection_idle_timeout", "must be > 0");
  }
  auto tls_policies = delivery::TlsPolicyTable::Create(absl::GetFlag(FLAGS_outbound_tls),
                                                       absl::GetFlag(FLAGS_outbound_tls_policy));
  if (!tls_policies.ok()) {
    return FlagError("outbound_tls/--outbound_tls_policy", tls_policies.status().message());
  }
  config.tls_policies = *std::move(tls_policies);
  auto tls_client = net::tls::TlsContext::CreateClient({});
  if (!tls_client.ok()) return FlagError("outbound_tls", tls_client.status().message());
  config.tls_client = *std::move(tls_client);
  const std::vector<std::string> dkim_keys = absl::GetFlag(FLAGS_dkim_key);
  if (!dkim_keys.empty()) {
    // Before the keys are read: their secrets then live in locked, undumpable memory.
    if (absl::Status heap = net::tls::InitSecureHeap(); !heap.ok()) {
      TERN_LOG(kWarning, "%s", heap.message());
    }
    auto dkim = delivery::DkimSigner::Create(dkim_keys);
    if (!dkim.ok()) return FlagError("dkim_key", dkim.status().message());
    config.dkim = *std::move(dkim);
  }
  config.suppress_after = absl::GetFlag(FLAGS_suppress_after);
  if (config.suppress_after < 0) return FlagError("suppress_after", "must be >= 0");
  auto classifier = ReadBounceClassifier(absl::GetFlag(FLAGS_bounce_rules));
  if (!classifier.ok()) return FlagError("bounce_rules", classifier.status().message());
  config.bounce_classifier = *std::move(classifier);
  return config;
}

// --webhook and its companions into config->webhook (checked here; the secret and CA files
// are read when the sender starts, as --user).
absl::Status ReadWebhookFlags(DaemonConfig* config) {
  const std::string url = absl::GetFlag(FLAGS_webhook);
  const int32_t batch = absl::GetFlag(FLAGS_webhook_batch);
  if (batch < 1 || batch > 10'000) return FlagError("webhook_batch", "must be 1-10000");
  const absl::Duration max_age = absl::GetFlag(FLAGS_webhook_max_age);
  if (max_age <= absl::ZeroDuration()) return FlagError("webhook_max_age", "must be positive");
  const absl::Duration timeout = absl::GetFlag(FLAGS_webhook_timeout);
  if (timeout <= absl::ZeroDuration()) return FlagError("webhook_timeout", "must be positive");
  const uint64_t backlog = absl::GetFlag(FLAGS_webhook_backlog_max_bytes);
  // Two segments at least (the journal's granularity: events/event_journal.h).
  if (backlog < (uint64_t{16} << 20)) {
    return FlagError("webhook_backlog_max_bytes", "must be at least 16 MiB");
  }
  if (url.empty()) return absl::OkStatus();
  if (absl::StatusOr<events::WebhookUrl> parsed = events::ParseWebhookUrl(url); !parsed.ok()) {
    return FlagError("webhook", parsed.status().message());
  }
  config->webhook.url = url;
  config->webhook.secret_file = absl::GetFlag(FLAGS_webhook_secret_file);
  config->webhook.ca_file = absl::GetFlag(FLAGS_webhook_ca_file);
  config->webhook.batch = static_cast<size_t>(batch);
  config->webhook.max_age = max_age;
  config->webhook.timeout = timeout;
  config->webhook_backlog_max_bytes = backlog;
  return absl::OkStatus();
}

}  // namespace

absl::Status LoadAdminAccess(DaemonConfig* config) {
  const std::string token_file = absl::GetFlag(FLAGS_admin_token_file);
  if (!token_file.empty()) {
    absl::StatusOr<std::string> token = net::LoadAdminToken(token_file);
    if (!token.ok()) return FlagError("admin_token_file", token.status().message());
    config->admin_access.token = *std::move(token);
  }
  config->admin_access.host_names = absl::GetFlag(FLAGS_admin_hosts);
  if (config->admin.has_value() && !net::IsLoopbackAddress(*config->admin) &&
      config->admin_access.token.empty()) {
    return FlagError("admin_listen",
                     absl::StrCat(net::FormatSocketAddress(config->admin->storage),
                                  " is beyond loopback: set --admin_token_file (a bearer token "
                                  "every client must send), or listen on 127.0.0.1 or ::1"));
  }
  return absl::OkStatus();
}

absl::StatusOr<DaemonConfig> BuildDaemonConfig() {
  DaemonConfig config;
  const std::string suppressed_action = absl::GetFlag(FLAGS_suppressed_action);
  if (suppressed_action != "reject" && suppressed_action != "drop") {
    return FlagError("suppressed_action", "reject or drop");
  }
  config.suppressed_drop = suppressed_action == "drop";
  if (absl::Status webhook = ReadWebhookFlags(&config); !webhook.ok()) return webhook;
  const struct {
    const char* flag;
    std::vector<std::string> addresses;
    net::ListenerKind kind;
  } listen_flags[] = {
      {"listen", absl::GetFlag(FLAGS_listen), net::ListenerKind::kSmtp},
      {"submission_listen", absl::GetFlag(FLAGS_submission_listen), net::ListenerKind::kSubmission},
      {"smtps_listen", absl::GetFlag(FLAGS_smtps_listen), net::ListenerKind::kSmtps},
  };
  // The same address twice would bind twice (SO_REUSEPORT) and split its connections.
  absl::flat_hash_map<std::string, const char*> bound;
  for (const auto& [flag, addresses, kind] : listen_flags) {
    for (const std::string& text : addresses) {
      auto address = net::ParseSocketAddress(text);
      if (!address.ok()) return FlagError(flag, address.status().message());
      const std::string key = net::FormatSocketAddress(address->storage);
      if (address->port() != 0) {
        if (auto [it, fresh] = bound.emplace(key, flag); !fresh) {
          return FlagError(flag, absl::StrCat(key, " is also given to --", it->second));
        }
      }
      config.listeners.push_back({*address, kind});
    }
  }
  if (config.listeners.empty()) return FlagError("listen", "at least one address is needed");
  config.tls_files.cert_file = absl::GetFlag(FLAGS_tls_cert);
  config.tls_files.key_file = absl::GetFlag(FLAGS_tls_key);
  config.tls_handshake_timeout = absl::GetFlag(FLAGS_tls_handshake_timeout);
  config.greet_pause = absl::GetFlag(FLAGS_greet_pause);
  config.min_data_rate = absl::GetFlag(FLAGS_min_data_rate);
  if (config.greet_pause < absl::ZeroDuration() || config.greet_pause > absl::Minutes(5)) {
    return FlagError("greet_pause", "must be between 0 and 5m");
  }
  if (config.tls_handshake_timeout <= absl::ZeroDuration()) {
    return FlagError("tls_handshake_timeout", "must be > 0");
  }
  if (config.tls_files.cert_file.empty() != config.tls_files.key_file.empty()) {
    return FlagError(config.tls_files.cert_file.empty() ? "tls_cert" : "tls_key",
                     "--tls_cert and --tls_key go together");
  }
  if (!config.tls_files.cert_file.empty()) {
    // Before the key is read: its secret numbers then live in locked, undumpable memory.
    if (absl::Status heap = net::tls::InitSecureHeap(); !heap.ok()) {
      TERN_LOG(kWarning, "%s", heap.message());
    }
    auto context = net::tls::TlsContext::CreateServer(config.tls_files);
    if (!context.ok()) return FlagError("tls_cert/--tls_key", context.status().message());
    config.tls = std::make_unique<net::tls::TlsContextSlot>(*std::move(context));
  } else if (!absl::GetFlag(FLAGS_smtps_listen).empty()) {
    return FlagError("smtps_listen", "needs --tls_cert and --tls_key");
  }
  const std::string users_file = absl::GetFlag(FLAGS_auth_users_file);
  if (!users_file.empty()) {
    if (config.tls == nullptr) {
      return FlagError("auth_users_file", "AUTH is offered under TLS only: set --tls_cert");
    }
    auto users = net::smtp::AuthUsers::Load(users_file);
    if (!users.ok()) return FlagError("auth_users_file", users.status().message());
    config.auth = std::make_unique<net::smtp::PasswordChecker>(
        *std::move(users), absl::GetFlag(FLAGS_auth_attempts_per_minute));
  } else if (absl::GetFlag(FLAGS_sender_login_match)) {
    return FlagError("sender_login_match", "needs --auth_users_file");
  }
  config.session.sender_login_match = absl::GetFlag(FLAGS_sender_login_match);
  config.session.auth_failures_max = absl::GetFlag(FLAGS_auth_failures_max);
  if (config.session.auth_failures_max == 0) return FlagError("auth_failures_max", "must be > 0");
  const std::string admin = absl::GetFlag(FLAGS_admin_listen);
  if (!admin.empty()) {
    auto address = net::ParseSocketAddress(admin);
    if (!address.ok()) return FlagError("admin_listen", address.status().message());
    config.admin = *address;
  }
  if (absl::Status access = LoadAdminAccess(&config); !access.ok()) return access;
  config.spool_dir = absl::GetFlag(FLAGS_spool_dir);
  config.delivery_log = absl::GetFlag(FLAGS_delivery_log);
  if (config.spool_dir.empty()) return FlagError("spool_dir", "must not be empty");
  const std::string sync = absl::GetFlag(FLAGS_spool_sync);
  if (sync == "none") {
    config.spool_sync_none = true;
  } else if (sync != "fdatasync") {
    return FlagError("spool_sync", absl::StrCat("'", sync, "' is not fdatasync or none"));
  }
  const std::string balance = absl::GetFlag(FLAGS_inbound_balance);
  if (balance == "kernel") {
    config.inbound_handoff = false;
  } else if (balance != "handoff") {
    return FlagError("inbound_balance", absl::StrCat("'", balance, "' is not handoff or kernel"));
  }
  config.segment_bytes = absl::GetFlag(FLAGS_segment_size);
  const std::string prefill = absl::GetFlag(FLAGS_segment_prefill);
  if (prefill == "fallocate") {
    config.segment_prefill = spool::SegmentPrefill::kFallocate;
  } else if (prefill != "zero") {
    return FlagError("segment_prefill", absl::StrCat("'", prefill, "' is not zero or fallocate"));
  }
  const uint64_t max_message = absl::GetFlag(FLAGS_max_message_size);
  // A message record is the body plus the envelope and headers: keep room for both.
  const uint64_t envelope_room = 1ull << 20;
  if (max_message == 0) return FlagError("max_message_size", "must be > 0");
  if (config.segment_bytes < max_message + envelope_room) {
    return FlagError("segment_size", absl::StrCat("must be at least --max_message_size + 1 MiB (",
                                                  max_message + envelope_room, ")"));
  }
  config.session.hostname = absl::GetFlag(FLAGS_hostname);
  if (config.session.hostname.empty()) config.session.hostname = DefaultHostname();
  config.session.max_message_size = max_message;
  config.session.max_recipients = absl::GetFlag(FLAGS_max_recipients);
  if (config.session.max_recipients == 0 ||
      config.session.max_recipients > spool::kEnvelopeRecipientsMax) {
    return FlagError("max_recipients",
                     absl::StrCat("must be between 1 and ", spool::kEnvelopeRecipientsMax));
  }
  config.session.idle_timeout = absl::GetFlag(FLAGS_idle_timeout);
  config.session.data_timeout = absl::GetFlag(FLAGS_data_timeout);
  if (config.session.idle_timeout <= absl::ZeroDuration()) {
    return FlagError("idle_timeout", "must be > 0");
  }
  if (config.session.data_timeout <= absl::ZeroDuration()) {
    return FlagError("data_timeout", "must be > 0");
  }
  auto policy = net::smtp::RelayPolicy::Create(absl::GetFlag(FLAGS_relay_networks),
                                               absl::GetFlag(FLAGS_relay_domains));
  if (!policy.ok()) return FlagError("relay_networks", policy.status().message());
  config.relay_policy = std::make_unique<net::smtp::RelayPolicy>(*std::move(policy));
  config.session.relay_policy = config.relay_policy.get();
  config.limiter =
      std::make_unique<net::ConnectionLimiter>(absl::GetFlag(FLAGS_max_connections_per_ip));
  auto io_engine = engine::ParseIoEngineChoice(absl::GetFlag(FLAGS_io_engine));
  if (!io_engine.ok()) return FlagError("io_engine", io_engine.status().message());
  config.io_engine = *io_engine;
  config.transport.receive_buffers = absl::GetFlag(FLAGS_recv_buffers);
  config.transport.receive_buffer_bytes = absl::GetFlag(FLAGS_recv_buffer_size);
  const uint32_t n = config.transport.receive_buffers;
  if (n == 0 || (n & (n - 1)) != 0 || n > 32768) {
    return FlagError("recv_buffers", "must be a power of two between 1 and 32768");
  }
  if (config.transport.receive_buffer_bytes < 1024) {
    return FlagError("recv_buffer_size", "must be at least 1024");
  }
  config.shutdown_grace = absl::GetFlag(FLAGS_shutdown_grace);
  // Pools are decided at reception, so they are read with --deliver=false too.
  auto egress = BuildEgressConfig(EgressFlagsFromCommandLine());
  if (!egress.ok()) return egress.status();
  for (const std::string& warning : (*egress)->warnings()) {
    TERN_LOG(kWarning, "%s", warning);
  }
  queue::ShapingOptions shaping_base = queue::ShapingOptions::BuiltInDefaults();
  if (absl::GetFlag(FLAGS_deliver)) {
    auto delivery = BuildDeliveryConfig(config.session.hostname);
    if (!delivery.ok()) return delivery.status();
    config.delivery = std::make_unique<delivery::DeliveryConfig>(*std::move(delivery));
    config.delivery->egress = *egress;
    net::DestinationLimits limits;
    limits.max_connections = config.delivery->max_connections_per_destination;
    limits.max_messages_per_connection = config.delivery->max_messages_per_connection;
    limits.idle_timeout = config.delivery->connection_idle_timeout;
    config.pools = std::make_unique<net::DestinationPools>(limits);
    // Lanes start from the built-in shaping defaults with the flags laid over them.
    shaping_base.connection_limit = config.delivery->max_connections_per_destination;
    shaping_base.max_deliveries_per_connection = config.delivery->max_messages_per_connection;
    config.dns_servers = absl::GetFlag(FLAGS_dns_servers);
  }
  config.shaping_file = absl::GetFlag(FLAGS_shaping);
  std::shared_ptr<const queue::ShapingPolicy> shaping_policy;
  if (!config.shaping_file.empty()) {
    auto policy = ReadShapingPolicyFile(config.shaping_file, **egress);
    if (!policy.ok()) {
      const std::vector<std::string> problems = ProblemLines(policy.status());
      return FlagError(
          absl::StrCat("shaping=", config.shaping_file),
          absl::StrCat(problems.size(), " problem(s):\n  ", absl::StrJoin(problems, "\n  ")));
    }
    shaping_policy = *std::move(policy);
  }
  config.shaping = std::make_unique<queue::ShapingState>(
      std::move(shaping_policy), ShapingStateFile(config.spool_dir), shaping_base);
  if (config.pools != nullptr) {
    // A shard refused while a site's first attempts run on another is told when one ends.
    config.shaping->site_health().SetWake([wakeups = &config.pools->wakeups()](uint32_t shard) {
      wakeups->Tell(shard, net::PoolWakeups::Reason::kSlotMayBeFree);
    });
  }
  config.egress = std::make_unique<delivery::EgressConfigSlot>(*std::move(egress));
  return config;
}

ShardConfig DaemonConfig::MakeShardConfig(int shard_id) const {
  ShardConfig shard;
  shard.id = shard_id;
  shard.spool.spool_dir = spool_dir;
  shard.spool.shard_id = shard_id;
  shard.spool.segment_bytes = segment_bytes;
  shard.spool.sync = spool_sync_none ? spool::SyncMode::kNone : spool::SyncMode::kFdatasync;
  shard.spool.prefill = segment_prefill;
  shard.spool.record_bytes_max =
      std::min<uint64_t>(segment_bytes, session.max_message_size + (1ull << 20));
  shard.transport = transport;
  shard.io_engine = io_engine_resolved;
  shard.session = session;
  shard.relay_policy = relay_policy.get();
  shard.limiter = limiter.get();
  shard.shutdown_grace = shutdown_grace;
  shard.delivery_log = delivery_log;
  shard.delivery = delivery.get();
  shard.pools = pools.get();
  shard.shaping = shaping.get();
  shard.dns_servers = dns_servers;
  shard.egress = egress->Get();
  shard.tls = tls.get();
  shard.auth = auth.get();
  shard.tls_handshake_timeout = tls_handshake_timeout;
  shard.greet_pause = greet_pause;
  shard.min_data_rate = min_data_rate;
  shard.suppression = suppression.get();
  shard.suppressed_drop = suppressed_drop;
  shard.events = event_journal.get();
  return shard;
}

absl::Status DaemonConfig::OpenSuppressionList() {
  const std::string directory = (std::filesystem::path(spool_dir) / "suppression").string();
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error) return absl::InternalError(absl::StrCat(directory, ": ", error.message()));
  absl::StatusOr<std::unique_ptr<suppression::SuppressionList>> list =
      suppression::SuppressionList::Open({.directory = directory}, {});
  if (!list.ok()) return list.status();
  suppression = *std::move(list);
  if (delivery != nullptr) {
    delivery->suppression = suppression.get();
    delivery->bounce_tally = bounce_tally.get();
    delivery->suppressed_drop = suppressed_drop;
  }
  return absl::OkStatus();
}

absl::Status DaemonConfig::StartWebhook() {
  if (webhook.url.empty()) return absl::OkStatus();
  events::JournalOptions options;
  options.directory = (std::filesystem::path(spool_dir) / "events").string();
  options.max_backlog_bytes = webhook_backlog_max_bytes;
  options.sync = !spool_sync_none;
  absl::StatusOr<std::unique_ptr<events::EventJournal>> journal =
      events::EventJournal::Open(options);
  if (!journal.ok()) return journal.status();
  event_journal = *std::move(journal);
  absl::StatusOr<std::unique_ptr<events::WebhookSender>> sender =
      events::WebhookSender::Start(webhook, event_journal.get());
  if (!sender.ok()) return sender.status();
  webhook_sender = *std::move(sender);
  return absl::OkStatus();
}

absl::string_view ListenerName(net::ListenerKind kind) {
  switch (kind) {
    case net::ListenerKind::kSmtp:
      return "smtp";
    case net::ListenerKind::kSubmission:
      return "submission";
    case net::ListenerKind::kSmtps:
      return "smtps";
  }
  return "smtp";
}

}  // namespace tern::tools::ternd
