// Reading DNS answers (RFC 1035 §4) the resolver gets back from c-ares, which parses MX
// replies without their TTLs. The input is hostile: every length is checked against the
// message, compression pointers are followed a bounded number of times, names longer than
// RFC 1035 allows are rejected, and at most kRecordsMax answer records are read.
//
//   ASSIGN_OR_RETURN(MxRecords mx, ExtractMx(message, "example.com"));
//   for (const MxHost& h : mx.hosts) ...;  // in answer order, not yet sorted
#pragma once

#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "net/dns/dns_result.h"

namespace tern::net::dns {

inline constexpr size_t kNameBytesMax = 255;      // RFC 1035 §2.3.4, wire form
inline constexpr size_t kNameTextBytesMax = 253;  // the same name as text, no final dot
inline constexpr size_t kLabelBytesMax = 63;      // RFC 1035 §2.3.4
inline constexpr int kPointerJumpsMax = 32;       // compression pointers followed per name
inline constexpr size_t kRecordsMax = 256;        // answer records read; more are ignored
inline constexpr int kCnameChainMax = 8;          // CNAMEs followed from the query name
inline constexpr size_t kHeaderBytes = 12;
static_assert(kNameTextBytesMax + 2 == kNameBytesMax);

inline constexpr uint16_t kTypeA = 1;
inline constexpr uint16_t kTypeCname = 5;
inline constexpr uint16_t kTypeMx = 15;
inline constexpr uint16_t kTypeAaaa = 28;
inline constexpr uint16_t kClassIn = 1;

// Lower-cases a domain name, drops one trailing dot and checks it: letters, digits, '-'
// and '_' only, no empty label, labels of at most 63 bytes, at most 253 bytes in all.
absl::StatusOr<std::string> NormalizeName(absl::string_view name);

// One resource record of the answer section. The owner is lower case without the final
// dot ("" is the root); the rdata stays in the message at [rdata_offset, +rdata_bytes).
struct Record {
  std::string owner;
  uint16_t type = 0;
  uint32_t ttl_s = 0;
  size_t rdata_offset = 0;
  uint16_t rdata_bytes = 0;
};

// Reads the (possibly compressed) name at *offset and moves *offset past it.
absl::StatusOr<std::string> ReadName(absl::Span<const uint8_t> message, size_t* offset);

// Checks the header, skips the question section and returns the class IN answer records.
absl::StatusOr<std::vector<Record>> ParseAnswerSection(absl::Span<const uint8_t> message);

struct MxRecords {
  std::vector<MxHost> hosts;  // answer order; the root exchanger is written "."
  uint32_t ttl_s = 0;         // minimum over the MX and CNAME records used
};
// The MX records of `qname` (normalized), following a CNAME chain from it.
absl::StatusOr<MxRecords> ExtractMx(absl::Span<const uint8_t> message, absl::string_view qname);

struct AddressRecords {
  std::vector<in_addr> ipv4;
  std::vector<in6_addr> ipv6;
  uint32_t ttl_s = 0;  // minimum over the A, AAAA and CNAME records used
};
// The A and AAAA records of `qname` (normalized), following a CNAME chain from it.
absl::StatusOr<AddressRecords> ExtractAddresses(absl::Span<const uint8_t> message,
                                                absl::string_view qname);

}  // namespace tern::net::dns
