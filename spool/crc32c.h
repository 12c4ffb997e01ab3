// CRC-32C (Castagnoli, polynomial 0x1EDC6F41, reflected), the checksum of every spool record.
// Uses the SSE4.2 crc32 instruction when the CPU has it (checked once), else a table.
//
//   uint32_t crc = crc32c::Value(data, n);
//   crc = crc32c::Extend(crc, more, m);  // == Value(data + more)
#pragma once

#include <cstddef>
#include <cstdint>

namespace tern::spool::crc32c {

// Returns the CRC-32C of data[0, n) continued from `crc` (the CRC of the bytes before).
uint32_t Extend(uint32_t crc, const void* data, size_t n);
inline uint32_t Value(const void* data, size_t n) { return Extend(0, data, n); }

// For tests and benchmarks: the portable table implementation, and whether the hardware
// one is used by Extend().
uint32_t ExtendPortable(uint32_t crc, const void* data, size_t n);
bool HardwareAccelerated();

}  // namespace tern::spool::crc32c
