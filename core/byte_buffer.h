// ByteBuffer: an owned, growable, contiguous byte buffer that does not zero what it grows
// into. A message record is built in one of these (header, envelope, then the body as it
// arrives) and handed to the spool's group commit without another copy.
//
//   core::ByteBuffer buf;
//   buf.Append("Received: ...\r\n");
//   char* dst = buf.Extend(n);  // write n bytes at dst
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "absl/strings/string_view.h"
#include "core/check.h"

namespace tern::core {

class ByteBuffer {
 public:
  ByteBuffer() = default;
  explicit ByteBuffer(size_t capacity) { Reserve(capacity); }
  ~ByteBuffer() { std::free(data_); }
  ByteBuffer(ByteBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)),
        size_(std::exchange(other.size_, 0)),
        capacity_(std::exchange(other.capacity_, 0)) {}
  ByteBuffer& operator=(ByteBuffer&& other) noexcept {
    if (this != &other) {
      std::free(data_);
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
      capacity_ = std::exchange(other.capacity_, 0);
    }
    return *this;
  }
  ByteBuffer(const ByteBuffer&) = delete;
  ByteBuffer& operator=(const ByteBuffer&) = delete;

  char* data() { return data_; }
  const char* data() const { return data_; }
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  bool empty() const { return size_ == 0; }
  absl::string_view view() const { return absl::string_view(data_, size_); }

  void Reserve(size_t capacity) {
    if (capacity <= capacity_) return;
    char* grown = static_cast<char*>(std::realloc(data_, capacity));
    CHECK(grown != nullptr);
    data_ = grown;
    capacity_ = capacity;
  }
  // Grows the size by n and returns where the n new (uninitialized) bytes start.
  char* Extend(size_t n) {
    if (size_ + n > capacity_) Reserve(std::max(size_ + n, capacity_ * 2 + 256));
    char* at = data_ + size_;
    size_ += n;
    return at;
  }
  void Append(absl::string_view bytes) {
    if (bytes.empty()) return;
    std::memcpy(Extend(bytes.size()), bytes.data(), bytes.size());
  }
  void Truncate(size_t size) {
    CHECK_LE(size, size_);
    size_ = size;
  }
  void Clear() { size_ = 0; }

 private:
  char* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

}  // namespace tern::core
