// Implementation of engine/uring/provided_buffer_ring.h.
#include "engine/uring/provided_buffer_ring.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/check.h"

namespace tern::engine::uring {

absl::StatusOr<std::unique_ptr<ProvidedBufferRing>> ProvidedBufferRing::Create(
    io_uring* ring, uint16_t group_id, uint32_t count, uint32_t buffer_bytes) {
  if (count == 0 || (count & (count - 1)) != 0 || count > 32768) {
    return absl::InvalidArgumentError(
        absl::StrCat("receive buffer count must be a power of two <= 32768, got ", count));
  }
  std::unique_ptr<ProvidedBufferRing> self(new ProvidedBufferRing());
  self->ring_ = ring;
  self->group_id_ = group_id;
  self->count_ = count;
  self->buffer_bytes_ = buffer_bytes;
  self->ring_bytes_ = count * sizeof(io_uring_buf);
  void* ring_mem =
      mmap(nullptr, self->ring_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (ring_mem == MAP_FAILED) {
    return absl::ResourceExhaustedError(absl::StrCat("mmap buffer ring: ", strerror(errno)));
  }
  self->buf_ring_ = static_cast<io_uring_buf_ring*>(ring_mem);
  // Buffers are touched (and so resident) only when the kernel first fills them.
  void* buffers = mmap(nullptr, static_cast<size_t>(count) * buffer_bytes, PROT_READ | PROT_WRITE,
                       MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (buffers == MAP_FAILED) {
    return absl::ResourceExhaustedError(absl::StrCat("mmap receive buffers: ", strerror(errno)));
  }
  self->buffers_ = static_cast<char*>(buffers);
  io_uring_buf_ring_init(self->buf_ring_);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(self->buf_ring_);
  reg.ring_entries = count;
  reg.bgid = group_id;
  int rc = io_uring_register_buf_ring(ring, &reg, 0);
  if (rc != 0) {
    return absl::UnavailableError(absl::StrCat("io_uring_register_buf_ring: ", strerror(-rc)));
  }
  self->registered_ = true;
  const int mask = io_uring_buf_ring_mask(count);
  for (uint32_t i = 0; i < count; ++i) {
    io_uring_buf_ring_add(self->buf_ring_, self->buffers_ + static_cast<size_t>(i) * buffer_bytes,
                          buffer_bytes, static_cast<uint16_t>(i), mask, static_cast<int>(i));
  }
  io_uring_buf_ring_advance(self->buf_ring_, static_cast<int>(count));
  return self;
}

ProvidedBufferRing::~ProvidedBufferRing() {
  if (registered_) io_uring_unregister_buf_ring(ring_, group_id_);
  if (buf_ring_ != nullptr) munmap(buf_ring_, ring_bytes_);
  if (buffers_ != nullptr) munmap(buffers_, static_cast<size_t>(count_) * buffer_bytes_);
}

absl::string_view ProvidedBufferRing::View(uint16_t buffer_id, size_t length) const {
  CHECK_LT(buffer_id, count_);
  CHECK_LE(length, buffer_bytes_);
  return absl::string_view(buffers_ + static_cast<size_t>(buffer_id) * buffer_bytes_, length);
}

void ProvidedBufferRing::Return(uint16_t buffer_id) {
  CHECK_LT(buffer_id, count_);
  io_uring_buf_ring_add(buf_ring_, buffers_ + static_cast<size_t>(buffer_id) * buffer_bytes_,
                        buffer_bytes_, buffer_id, io_uring_buf_ring_mask(count_), 0);
  io_uring_buf_ring_advance(buf_ring_, 1);
}

}  // namespace tern::engine::uring
