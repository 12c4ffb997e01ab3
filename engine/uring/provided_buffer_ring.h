// ProvidedBufferRing: a ring of receive buffers registered with io_uring (kernel 5.19+), so
// a socket gets a buffer only when bytes arrive: an idle connection holds none. liburing 2.3
// has no io_uring_setup_buf_ring, so the ring memory is allocated and registered here.
//
//   ASSIGN_OR_RETURN(auto buffers, ProvidedBufferRing::Create(ring, kGroup, 512, 16384));
//   // recv with IOSQE_BUFFER_SELECT and buf_group = kGroup; on completion:
//   absl::string_view bytes = buffers->View(BufferIdOf(cqe_flags), res);
//   ... use bytes ...
//   buffers->Return(BufferIdOf(cqe_flags));
#pragma once

#include <liburing.h>

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tern::engine::uring {

class ProvidedBufferRing {
 public:
  // count must be a power of two (the kernel's requirement), at most 32768.
  static absl::StatusOr<std::unique_ptr<ProvidedBufferRing>> Create(io_uring* ring,
                                                                    uint16_t group_id,
                                                                    uint32_t count,
                                                                    uint32_t buffer_bytes);
  ~ProvidedBufferRing();
  ProvidedBufferRing(const ProvidedBufferRing&) = delete;
  ProvidedBufferRing& operator=(const ProvidedBufferRing&) = delete;

  static uint16_t BufferIdOf(uint32_t cqe_flags) { return cqe_flags >> IORING_CQE_BUFFER_SHIFT; }
  absl::string_view View(uint16_t buffer_id, size_t length) const;
  // Gives a buffer back to the kernel.
  void Return(uint16_t buffer_id);
  uint16_t group_id() const { return group_id_; }
  uint32_t buffer_bytes() const { return buffer_bytes_; }
  uint32_t count() const { return count_; }

 private:
  ProvidedBufferRing() = default;

  io_uring* ring_ = nullptr;
  io_uring_buf_ring* buf_ring_ = nullptr;
  size_t ring_bytes_ = 0;
  char* buffers_ = nullptr;
  uint16_t group_id_ = 0;
  uint32_t count_ = 0;
  uint32_t buffer_bytes_ = 0;
  bool registered_ = false;
};

}  // namespace tern::engine::uring
