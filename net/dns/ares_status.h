// Maps c-ares results to absl::Status, the way delivery must act on them:
//   NotFound         NXDOMAIN or no data: the domain cannot receive mail (bounce at once)
//   Unavailable      SERVFAIL, timeout, refused, connection or reply errors (defer, retry)
//   InvalidArgument  a name c-ares cannot query
//   Cancelled        the resolver shut down
//
//   absl::Status s = AresStatusToStatus(ARES_ENOTFOUND, "MX", "example.com");
//   // NotFound: "DNS MX lookup of example.com: NXDOMAIN (c-ares: Domain name not found)"
#pragma once

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace tern::net::dns {

// `ares_status` is a c-ares ARES_* code other than ARES_SUCCESS.
absl::Status AresStatusToStatus(int ares_status, absl::string_view query_type,
                                absl::string_view name);

}  // namespace tern::net::dns
