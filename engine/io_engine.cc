// The engine factory (engine/io_engine.h): --io_engine parsing, the auto choice, and one
// case per engine for the loop, transport and storage backend.
#include "engine/io_engine.h"

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/check.h"
#include "core/log.h"
#include "core/status_macros.h"
#include "engine/epoll/epoll_loop.h"
#include "engine/epoll/epoll_transport.h"
#include "engine/epoll/worker_storage.h"
#include "engine/uring/ring_storage.h"
#include "engine/uring/uring_loop.h"
#include "engine/uring/uring_transport.h"

namespace tern::engine {

absl::StatusOr<IoEngineChoice> ParseIoEngineChoice(absl::string_view text) {
  if (text == "auto") return IoEngineChoice::kAuto;
  if (text == "uring" || text == "io_uring") return IoEngineChoice::kUring;
  if (text == "epoll") return IoEngineChoice::kEpoll;
  return absl::InvalidArgumentError(
      absl::StrCat("--io_engine=", text, ": expected uring, epoll or auto"));
}

const char* IoEngineName(IoEngine engine) {
  return engine == IoEngine::kUring ? "io_uring" : "epoll";
}

absl::StatusOr<IoEngine> ResolveIoEngine(IoEngineChoice choice) {
  if (choice == IoEngineChoice::kEpoll) return IoEngine::kEpoll;
  // A small ring tells whether io_uring runs here and has what the transport needs.
  absl::StatusOr<std::unique_ptr<uring::UringLoop>> probe =
      uring::UringLoop::Create({.sq_entries = 8});
  if (probe.ok() && (*probe)->features().provided_buffer_ring) return IoEngine::kUring;
  const std::string why =
      probe.ok() ? "the kernel has no io_uring provided buffer rings (needs Linux 5.19+)"
                 : std::string(probe.status().message());
  if (choice == IoEngineChoice::kUring) {
    return absl::UnavailableError(absl::StrCat("--io_engine=uring: ", why));
  }
  const int setup_errno = uring::UringLoop::setup_errno();
  if (!probe.ok() && setup_errno != ENOSYS && setup_errno != EPERM) {
    // Not a refusal of io_uring as such (ENOMEM under a low RLIMIT_MEMLOCK, say): say so
    // rather than run a different engine without being asked.
    return absl::UnavailableError(
        absl::StrCat("io_uring: ", why, " (--io_engine=epoll runs without it)"));
  }
  TERN_LOG(kWarning, "io_uring unavailable (%s): using the epoll engine", why);
  return IoEngine::kEpoll;
}

absl::StatusOr<std::unique_ptr<core::Loop>> CreateLoop(IoEngine engine) {
  switch (engine) {
    case IoEngine::kUring: {
      ASSIGN_OR_RETURN(std::unique_ptr<uring::UringLoop> loop,
                       uring::UringLoop::Create(uring::UringLoopOptions{}));
      return std::unique_ptr<core::Loop>(std::move(loop));
    }
    case IoEngine::kEpoll: {
      ASSIGN_OR_RETURN(std::unique_ptr<epoll::EpollLoop> loop, epoll::EpollLoop::Create());
      return std::unique_ptr<core::Loop>(std::move(loop));
    }
  }
  return absl::InvalidArgumentError("unknown I/O engine");
}

IoEngine EngineOf(const core::Loop* loop) {
  return dynamic_cast<const uring::UringLoop*>(loop) != nullptr ? IoEngine::kUring
                                                                : IoEngine::kEpoll;
}

absl::StatusOr<std::unique_ptr<net::Transport>> CreateTransport(core::Loop* loop,
                                                                const TransportOptions& options) {
  switch (EngineOf(loop)) {
    case IoEngine::kUring: {
      uring::UringTransportOptions uring_options;
      uring_options.receive_buffers = options.receive_buffers;
      uring_options.receive_buffer_bytes = options.receive_buffer_bytes;
      ASSIGN_OR_RETURN(std::unique_ptr<uring::UringTransport> transport,
                       uring::UringTransport::Create(uring::UringLoop::Of(loop), uring_options));
      return std::unique_ptr<net::Transport>(std::move(transport));
    }
    case IoEngine::kEpoll: {
      ASSIGN_OR_RETURN(
          std::unique_ptr<epoll::EpollTransport> transport,
          epoll::EpollTransport::Create(epoll::EpollLoop::Of(loop), options.receive_buffer_bytes));
      return std::unique_ptr<net::Transport>(std::move(transport));
    }
  }
  return absl::InvalidArgumentError("unknown I/O engine");
}

std::unique_ptr<spool::StorageBackend> CreateStorage(core::Loop* loop) {
  if (EngineOf(loop) == IoEngine::kEpoll) {
    return std::make_unique<epoll::WorkerStorage>(epoll::EpollLoop::Of(loop));
  }
  return std::make_unique<uring::RingStorage>(uring::UringLoop::Of(loop));
}

}  // namespace tern::engine
