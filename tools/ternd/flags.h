// ternd's command-line flags (abseil flags; --flagfile=FILE reads them from a file). Every
// tunable of the daemon is declared here, with its default and what it does.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/time/time.h"

ABSL_DECLARE_FLAG(std::vector<std::string>, listen);
ABSL_DECLARE_FLAG(std::vector<std::string>, submission_listen);
ABSL_DECLARE_FLAG(std::vector<std::string>, smtps_listen);
ABSL_DECLARE_FLAG(std::string, tls_cert);
ABSL_DECLARE_FLAG(std::string, tls_key);
ABSL_DECLARE_FLAG(absl::Duration, tls_handshake_timeout);
ABSL_DECLARE_FLAG(std::string, admin_listen);
ABSL_DECLARE_FLAG(std::string, auth_users_file);
ABSL_DECLARE_FLAG(bool, sender_login_match);
ABSL_DECLARE_FLAG(uint32_t, auth_attempts_per_minute);
ABSL_DECLARE_FLAG(uint32_t, auth_failures_max);
ABSL_DECLARE_FLAG(std::string, outbound_tls);
ABSL_DECLARE_FLAG(absl::Duration, greet_pause);
ABSL_DECLARE_FLAG(uint64_t, min_data_rate);
ABSL_DECLARE_FLAG(std::vector<std::string>, dkim_key);
ABSL_DECLARE_FLAG(std::vector<std::string>, outbound_tls_policy);
ABSL_DECLARE_FLAG(std::string, spool_dir);
ABSL_DECLARE_FLAG(std::string, spool_sync);
ABSL_DECLARE_FLAG(uint64_t, segment_size);
ABSL_DECLARE_FLAG(int, shards);
ABSL_DECLARE_FLAG(std::string, hostname);
ABSL_DECLARE_FLAG(uint64_t, max_message_size);
ABSL_DECLARE_FLAG(uint32_t, max_recipients);
ABSL_DECLARE_FLAG(uint32_t, max_connections_per_ip);
ABSL_DECLARE_FLAG(std::vector<std::string>, relay_networks);
ABSL_DECLARE_FLAG(std::vector<std::string>, relay_domains);
ABSL_DECLARE_FLAG(absl::Duration, idle_timeout);
ABSL_DECLARE_FLAG(absl::Duration, data_timeout);
ABSL_DECLARE_FLAG(absl::Duration, shutdown_grace);
ABSL_DECLARE_FLAG(uint32_t, recv_buffers);
ABSL_DECLARE_FLAG(uint32_t, recv_buffer_size);
ABSL_DECLARE_FLAG(std::string, ready_file);
ABSL_DECLARE_FLAG(std::string, user);
ABSL_DECLARE_FLAG(std::string, delivery_log);
ABSL_DECLARE_FLAG(std::string, log_level);
ABSL_DECLARE_FLAG(bool, check_config);
ABSL_DECLARE_FLAG(bool, deliver);
ABSL_DECLARE_FLAG(std::vector<std::string>, route);
ABSL_DECLARE_FLAG(std::string, smarthost);
ABSL_DECLARE_FLAG(std::vector<std::string>, dns_servers);
ABSL_DECLARE_FLAG(std::string, retry_schedule);
ABSL_DECLARE_FLAG(std::string, max_queue_lifetime);
ABSL_DECLARE_FLAG(uint32_t, max_connections_per_destination);
ABSL_DECLARE_FLAG(uint32_t, max_messages_per_connection);
ABSL_DECLARE_FLAG(absl::Duration, connection_idle_timeout);
ABSL_DECLARE_FLAG(absl::Duration, connect_timeout);
ABSL_DECLARE_FLAG(absl::Duration, outbound_reply_timeout);
