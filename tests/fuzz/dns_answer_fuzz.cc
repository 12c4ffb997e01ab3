// libFuzzer entry point for Tern's DNS answer reader (net/dns/dns_message.h), which parses
// every answer c-ares hands back (the resolver never uses ares_parse_*_reply): arbitrary
// bytes as a DNS message, read as MX and as A/AAAA answers for a name, following CNAMEs.
// Must never crash or read out of bounds, and what it accepts must respect its promises:
// names normalized (or "." for a null MX), at most kRecordsMax records, rdata inside the
// message.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/types/span.h"
#include "core/check.h"
#include "net/dns/dns_message.h"

namespace {

void CheckName(const std::string& name) {
  CHECK_LE(name.size(), tern::net::dns::kNameTextBytesMax);
  if (name.empty()) return;  // the root
  absl::StatusOr<std::string> normalized = tern::net::dns::NormalizeName(name);
  CHECK(normalized.ok());
  CHECK(*normalized == name);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::Span<const uint8_t> message(data, size);
  absl::StatusOr<std::vector<tern::net::dns::Record>> records =
      tern::net::dns::ParseAnswerSection(message);
  if (records.ok()) {
    CHECK_LE(records->size(), tern::net::dns::kRecordsMax);
    for (const tern::net::dns::Record& r : *records) {
      CheckName(r.owner);
      CHECK_LE(r.rdata_offset + r.rdata_bytes, size);
    }
  }
  size_t offset = tern::net::dns::kHeaderBytes;
  if (absl::StatusOr<std::string> name = tern::net::dns::ReadName(message, &offset); name.ok()) {
    CheckName(*name);
    CHECK_LE(offset, size);
  }
  for (const char* qname : {"example.com", "mx.example.com", "a"}) {
    if (auto mx = tern::net::dns::ExtractMx(message, qname); mx.ok()) {
      CHECK_LE(mx->hosts.size(), tern::net::dns::kRecordsMax);
      for (const tern::net::dns::MxHost& host : mx->hosts) {
        if (host.host != ".") CheckName(host.host);
      }
      if (mx->hosts.empty()) CHECK_EQ(mx->ttl_s, 0u);
    }
    if (auto addresses = tern::net::dns::ExtractAddresses(message, qname); addresses.ok()) {
      CHECK_LE(addresses->ipv4.size() + addresses->ipv6.size(), tern::net::dns::kRecordsMax);
    }
  }
  return 0;
}
