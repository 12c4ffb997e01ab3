// DaemonConfig: ternd's flags parsed and validated once at start-up, and turned into each
// shard's configuration. Every error names the flag and what is wrong with it.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "delivery/delivery_config.h"
#include "delivery/egress_config_slot.h"
#include "events/event_journal.h"
#include "events/webhook_sender.h"
#include "net/admin_access.h"
#include "net/connection_limiter.h"
#include "net/destination_pool.h"
#include "net/listen_socket.h"
#include "net/smtp/password_checker.h"
#include "net/smtp/relay_policy.h"
#include "net/smtp_connection.h"
#include "net/tls/tls_context.h"
#include "net/tls/tls_context_slot.h"
#include "queue/shaping_state.h"
#include "tools/ternd/shard.h"

namespace tern::tools::ternd {

struct ListenerSpec {
  net::SocketAddress address;
  net::ListenerKind kind = net::ListenerKind::kSmtp;
};

struct DaemonConfig {
  std::vector<ListenerSpec> listeners;  // --listen, --submission_listen, --smtps_listen
  std::optional<net::SocketAddress> admin;
  // --admin_hosts and --admin_token_file's token (empty: none; required beyond loopback).
  net::AdminAccessOptions admin_access;
  std::string spool_dir;
  std::string delivery_log;  // empty: none
  bool spool_sync_none = false;
  // --inbound_balance=handoff: shards hand accepted connections to less loaded ones.
  bool inbound_handoff = true;
  uint64_t segment_bytes = 0;
  spool::SegmentPrefill segment_prefill = spool::SegmentPrefill::kZero;  // --segment_prefill
  net::smtp::SessionConfig session;
  std::unique_ptr<net::smtp::RelayPolicy> relay_policy;
  std::unique_ptr<net::ConnectionLimiter> limiter;
  engine::IoEngineChoice io_engine = engine::IoEngineChoice::kAuto;  // --io_engine
  // What --io_engine came to (ResolveIoEngine), set once before the shards start.
  engine::IoEngine io_engine_resolved = engine::IoEngine::kUring;
  engine::TransportOptions transport;
  absl::Duration shutdown_grace;
  // Delivery (null when --deliver=false).
  std::unique_ptr<delivery::DeliveryConfig> delivery;
  std::unique_ptr<net::DestinationPools> pools;
  // Traffic shaping shared by every shard (policy, throttles, site health, overrides); made
  // with --deliver=false too (the admin endpoint shows it). shaping_file: --shaping ("":
  // built-in defaults); the state file is ShapingStateFile(spool_dir).
  std::unique_ptr<queue::ShapingState> shaping;
  std::string shaping_file;
  std::vector<std::string> dns_servers;
  // Egress sources and pools in force (never null; without pools when none are
  // configured); SIGHUP replaces the configuration in it.
  std::unique_ptr<delivery::EgressConfigSlot> egress;
  // The suppression list (SPOOL_DIR/suppression/), opened once the spool is locked and ternd
  // runs as --user (OpenSuppressionList); --suppressed_action=drop sets suppressed_drop.
  std::unique_ptr<suppression::SuppressionList> suppression;
  // Hard bounces per address for --suppress_after above 1.
  std::unique_ptr<suppression::BounceTally> bounce_tally =
      std::make_unique<suppression::BounceTally>();
  bool suppressed_drop = false;
  // Delivery events on the webhook (--webhook; url empty: none). The journal
  // (SPOOL_DIR/events/) and the sender thread are started by StartWebhook once the spool
  // is locked and ternd runs as --user; the sender is declared after the journal, so it
  // stops first.
  events::WebhookSenderOptions webhook;
  uint64_t webhook_backlog_max_bytes = 0;
  std::unique_ptr<events::EventJournal> event_journal;
  std::unique_ptr<events::WebhookSender> webhook_sender;
  // TLS (null when --tls_cert is not set): the files, reloaded on SIGHUP into the slot.
  net::tls::TlsServerOptions tls_files;
  std::unique_ptr<net::tls::TlsContextSlot> tls;
  // AUTH (null without --auth_users_file): verifies passwords off the shards' loops.
  std::unique_ptr<net::smtp::PasswordChecker> auth;
  absl::Duration tls_handshake_timeout;
  absl::Duration greet_pause;
  uint64_t min_data_rate = 0;

  ShardConfig MakeShardConfig(int shard_id) const;
  // Opens (recovering) the suppression list and hands it to delivery.
  absl::Status OpenSuppressionList();
  // With --webhook: opens (recovering) the event journal and starts the sender.
  absl::Status StartWebhook();
};

absl::StatusOr<DaemonConfig> BuildDaemonConfig();
// --admin_token_file and --admin_hosts into config->admin_access (config->admin already
// set); refuses an admin endpoint beyond loopback without a token.
absl::Status LoadAdminAccess(DaemonConfig* config);

// "smtp", "submission" or "smtps" (the ready file's keys, the log's words).
absl::string_view ListenerName(net::ListenerKind kind);

}  // namespace tern::tools::ternd
