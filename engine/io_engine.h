// The I/O engine as a plug: which engine drives a shard (io_uring or epoll), and the
// factory that builds a shard's engine-specific objects. Nothing above this header knows
// which engine runs; everything engine-specific lives in engine/<name>/:
//
//   engine/uring/   io_uring: one ring per shard, every operation an SQE (uring_loop.h)
//   engine/epoll/   epoll: readiness on the shard thread, file I/O on a small worker pool
//
//   data flow:  sockets  -> net::Transport / net::Connection  (engine's transport)
//               spool    -> spool::StorageBackend              (engine's storage)
//               DNS, logs, timers, wake-ups -> core::Loop      (engine's loop)
//
//   ASSIGN_OR_RETURN(engine::IoEngine kind, engine::ResolveIoEngine(flag_value));
//   ASSIGN_OR_RETURN(std::unique_ptr<core::Loop> loop, engine::CreateLoop(kind));
//   ASSIGN_OR_RETURN(auto transport, engine::CreateTransport(loop.get(), {}));
//   std::unique_ptr<spool::StorageBackend> storage = engine::CreateStorage(loop.get());
//
// A third engine (AF_XDP, a user-space TCP stack) is a third folder implementing the same
// three interfaces, and one more case here.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/loop.h"
#include "net/transport.h"
#include "spool/storage.h"

namespace tern::engine {

enum class IoEngine { kUring, kEpoll };

// The value of --io_engine: a named engine, or auto (io_uring when the kernel lets this
// process use it, else epoll).
enum class IoEngineChoice { kAuto, kUring, kEpoll };

// "uring", "epoll" or "auto"; InvalidArgument otherwise.
absl::StatusOr<IoEngineChoice> ParseIoEngineChoice(absl::string_view text);
// "io_uring" or "epoll".
const char* IoEngineName(IoEngine engine);

// Decides which engine runs. kAuto tries an io_uring ring once: io_uring when it works,
// epoll (with one log line saying why) when io_uring_setup fails with ENOSYS or EPERM (a
// seccomp profile, kernel.io_uring_disabled) or the kernel lacks a feature ternd needs
// (provided buffer rings). kUring fails (Unavailable) where io_uring cannot run.
absl::StatusOr<IoEngine> ResolveIoEngine(IoEngineChoice choice);

// Receive buffers of a shard's transport (io_uring: the provided buffer ring; epoll: one
// buffer of receive_buffer_bytes lent per read).
struct TransportOptions {
  uint32_t receive_buffers = 1024;        // power of two
  uint32_t receive_buffer_bytes = 16384;  // per buffer
};

// A shard's loop. Call on the thread that will run it.
absl::StatusOr<std::unique_ptr<core::Loop>> CreateLoop(IoEngine engine);
// Which engine a loop of CreateLoop() runs.
IoEngine EngineOf(const core::Loop* loop);
// The transport and storage backend of `loop`'s engine, on `loop`.
absl::StatusOr<std::unique_ptr<net::Transport>> CreateTransport(core::Loop* loop,
                                                                const TransportOptions& options);
std::unique_ptr<spool::StorageBackend> CreateStorage(core::Loop* loop);

}  // namespace tern::engine
