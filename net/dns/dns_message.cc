// Implementation of net/dns/dns_message.h: a bounded reader for DNS answer sections.
#include "net/dns/dns_message.h"

#include <algorithm>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/status_macros.h"

namespace tern::net::dns {
namespace {

bool NameByteAllowed(uint8_t c) { return absl::ascii_isalnum(c) || c == '-' || c == '_'; }

uint16_t ReadU16(absl::Span<const uint8_t> m, size_t at) {
  return static_cast<uint16_t>((m[at] << 8) | m[at + 1]);
}

uint32_t ReadU32(absl::Span<const uint8_t> m, size_t at) {
  return (static_cast<uint32_t>(m[at]) << 24) | (static_cast<uint32_t>(m[at + 1]) << 16) |
         (static_cast<uint32_t>(m[at + 2]) << 8) | m[at + 3];
}

absl::Status Malformed(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("malformed DNS message: ", what));
}

// Reads a name that must lie (apart from what compression points to) inside the rdata.
absl::StatusOr<std::string> ReadRdataName(absl::Span<const uint8_t> m, const Record& r,
                                          size_t offset) {
  ASSIGN_OR_RETURN(std::string name, ReadName(m, &offset));
  if (offset > r.rdata_offset + r.rdata_bytes) return Malformed("name overruns its rdata");
  return name;
}

// The query name and the names a CNAME chain from it leads to, with the CNAMEs' min TTL.
absl::StatusOr<std::vector<std::string>> FollowCnames(absl::Span<const uint8_t> m,
                                                      const std::vector<Record>& records,
                                                      absl::string_view qname, uint32_t* ttl_s) {
  std::vector<std::string> chain = {std::string(qname)};
  for (int step = 0; step < kCnameChainMax; ++step) {
    const Record* next = nullptr;
    for (const Record& r : records) {
      if (r.type == kTypeCname && r.owner == chain.back()) next = &r;
    }
    if (next == nullptr) break;
    ASSIGN_OR_RETURN(std::string target, ReadRdataName(m, *next, next->rdata_offset));
    if (std::find(chain.begin(), chain.end(), target) != chain.end()) break;  // a loop
    *ttl_s = std::min(*ttl_s, next->ttl_s);
    chain.push_back(std::move(target));
  }
  return chain;
}

bool InChain(const std::vector<std::string>& chain, const std::string& owner) {
  return std::find(chain.begin(), chain.end(), owner) != chain.end();
}

}  // namespace

absl::StatusOr<std::string> NormalizeName(absl::string_view name) {
  if (absl::EndsWith(name, ".")) name.remove_suffix(1);
  if (name.empty()) return absl::InvalidArgumentError("empty domain name");
  if (name.size() > kNameTextBytesMax) {
    return absl::InvalidArgumentError(
        absl::StrCat("domain name longer than ", kNameTextBytesMax, " bytes"));
  }
  for (absl::string_view label : absl::StrSplit(name, '.')) {
    if (label.empty()) return absl::InvalidArgumentError("empty label in domain name");
    if (label.size() > kLabelBytesMax) {
      return absl::InvalidArgumentError("label longer than 63 bytes in domain name");
    }
    for (char c : label) {
      if (!NameByteAllowed(static_cast<uint8_t>(c))) {
        return absl::InvalidArgumentError("character not allowed in domain name");
      }
    }
  }
  return absl::AsciiStrToLower(name);
}

absl::StatusOr<std::string> ReadName(absl::Span<const uint8_t> m, size_t* offset) {
  size_t pos = *offset;
  size_t end = 0;  // where the name ends in the original position (0: not yet known)
  int jumps = 0;
  size_t wire_bytes = 1;  // the final zero byte
  std::string name;
  while (true) {
    if (pos >= m.size()) return Malformed("name runs past the end");
    const uint8_t len = m[pos];
    if ((len & 0xC0) == 0xC0) {
      if (pos + 1 >= m.size()) return Malformed("truncated compression pointer");
      if (++jumps > kPointerJumpsMax) return Malformed("too many compression pointers");
      if (end == 0) end = pos + 2;
      pos = (static_cast<size_t>(len & 0x3F) << 8) | m[pos + 1];
      continue;
    }
    if ((len & 0xC0) != 0) return Malformed("reserved label type");
    if (len == 0) {
      if (end == 0) end = pos + 1;
      break;
    }
    wire_bytes += 1 + len;
    if (wire_bytes > kNameBytesMax) return Malformed("name longer than 255 bytes");
    if (pos + 1 + len > m.size()) return Malformed("label runs past the end");
    if (!name.empty()) name += '.';
    for (size_t i = pos + 1; i < pos + 1 + len; ++i) {
      if (!NameByteAllowed(m[i])) return Malformed("character not allowed in a name");
      name += absl::ascii_tolower(m[i]);
    }
    pos += 1 + len;
  }
  *offset = end;
  return name;
}

absl::StatusOr<std::vector<Record>> ParseAnswerSection(absl::Span<const uint8_t> m) {
  if (m.size() < kHeaderBytes) return Malformed("shorter than a header");
  const uint16_t questions = ReadU16(m, 4);
  const uint16_t answers = ReadU16(m, 6);
  size_t pos = kHeaderBytes;
  for (uint16_t i = 0; i < questions; ++i) {
    RETURN_IF_ERROR(ReadName(m, &pos).status());
    if (pos + 4 > m.size()) return Malformed("truncated question");
    pos += 4;
  }
  std::vector<Record> records;
  const size_t count = std::min<size_t>(answers, kRecordsMax);
  records.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    Record r;
    ASSIGN_OR_RETURN(r.owner, ReadName(m, &pos));
    if (pos + 10 > m.size()) return Malformed("truncated record header");
    r.type = ReadU16(m, pos);
    const uint16_t klass = ReadU16(m, pos + 2);
    const uint32_t ttl = ReadU32(m, pos + 4);
    r.ttl_s = (ttl & 0x80000000u) ? 0 : ttl;  // RFC 2181 §8: treat as zero
    r.rdata_bytes = ReadU16(m, pos + 8);
    r.rdata_offset = pos + 10;
    if (r.rdata_offset + r.rdata_bytes > m.size()) return Malformed("truncated rdata");
    pos = r.rdata_offset + r.rdata_bytes;
    if (klass == kClassIn) records.push_back(std::move(r));
  }
  return records;
}

absl::StatusOr<MxRecords> ExtractMx(absl::Span<const uint8_t> m, absl::string_view qname) {
  ASSIGN_OR_RETURN(std::vector<Record> records, ParseAnswerSection(m));
  MxRecords out;
  uint32_t ttl_s = UINT32_MAX;
  ASSIGN_OR_RETURN(std::vector<std::string> chain, FollowCnames(m, records, qname, &ttl_s));
  for (const Record& r : records) {
    if (r.type != kTypeMx || !InChain(chain, r.owner)) continue;
    if (r.rdata_bytes < 3) return Malformed("MX rdata too short");
    MxHost host;
    host.preference = ReadU16(m, r.rdata_offset);
    ASSIGN_OR_RETURN(host.host, ReadRdataName(m, r, r.rdata_offset + 2));
    if (host.host.empty()) host.host = ".";
    out.hosts.push_back(std::move(host));
    ttl_s = std::min(ttl_s, r.ttl_s);
  }
  out.ttl_s = out.hosts.empty() ? 0 : ttl_s;
  return out;
}

absl::StatusOr<AddressRecords> ExtractAddresses(absl::Span<const uint8_t> m,
                                                absl::string_view qname) {
  ASSIGN_OR_RETURN(std::vector<Record> records, ParseAnswerSection(m));
  AddressRecords out;
  uint32_t ttl_s = UINT32_MAX;
  ASSIGN_OR_RETURN(std::vector<std::string> chain, FollowCnames(m, records, qname, &ttl_s));
  for (const Record& r : records) {
    if (!InChain(chain, r.owner)) continue;
    if (r.type == kTypeA && r.rdata_bytes == sizeof(in_addr)) {
      in_addr a;
      memcpy(&a, &m[r.rdata_offset], sizeof(a));
      out.ipv4.push_back(a);
    } else if (r.type == kTypeAaaa && r.rdata_bytes == sizeof(in6_addr)) {
      in6_addr a;
      memcpy(&a, &m[r.rdata_offset], sizeof(a));
      out.ipv6.push_back(a);
    } else {
      continue;  // other types, or an address of the wrong length: not an address
    }
    ttl_s = std::min(ttl_s, r.ttl_s);
  }
  out.ttl_s = (out.ipv4.empty() && out.ipv6.empty()) ? 0 : ttl_s;
  return out;
}

}  // namespace tern::net::dns
