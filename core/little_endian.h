// Little-endian loads and stores for on-disk formats (spool segments, the suppression journal).
// Every multi-byte integer in those files is little-endian, whatever the host; memcpy keeps
// unaligned access defined.
//
//   StoreLE32(header + 8, payload_bytes);
//   uint64_t id = LoadLE64(header + 16);
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>

namespace tern::core {

template <typename T>
inline T ToLittleEndian(T value) {
  if constexpr (std::endian::native == std::endian::little) {
    return value;
  } else if constexpr (sizeof(T) == 2) {
    return __builtin_bswap16(value);
  } else if constexpr (sizeof(T) == 4) {
    return __builtin_bswap32(value);
  } else {
    return __builtin_bswap64(value);
  }
}

inline void StoreLE16(char* at, uint16_t v) {
  v = ToLittleEndian(v);
  std::memcpy(at, &v, sizeof(v));
}
inline void StoreLE32(char* at, uint32_t v) {
  v = ToLittleEndian(v);
  std::memcpy(at, &v, sizeof(v));
}
inline void StoreLE64(char* at, uint64_t v) {
  v = ToLittleEndian(v);
  std::memcpy(at, &v, sizeof(v));
}
inline uint16_t LoadLE16(const char* at) {
  uint16_t v;
  std::memcpy(&v, at, sizeof(v));
  return ToLittleEndian(v);
}
inline uint32_t LoadLE32(const char* at) {
  uint32_t v;
  std::memcpy(&v, at, sizeof(v));
  return ToLittleEndian(v);
}
inline uint64_t LoadLE64(const char* at) {
  uint64_t v;
  std::memcpy(&v, at, sizeof(v));
  return ToLittleEndian(v);
}

}  // namespace tern::core
