// Implementation of net/dns/ares_status.h.
#include "net/dns/ares_status.h"

#include <ares.h>

#include "absl/strings/str_cat.h"

namespace tern::net::dns {

absl::Status AresStatusToStatus(int ares_status, absl::string_view query_type,
                                absl::string_view name) {
  const char* summary = "error";
  absl::StatusCode code = absl::StatusCode::kUnavailable;
  switch (ares_status) {
    case ARES_ENOTFOUND:
      summary = "NXDOMAIN";
      code = absl::StatusCode::kNotFound;
      break;
    case ARES_ENODATA:
      summary = "no records";
      code = absl::StatusCode::kNotFound;
      break;
    case ARES_ESERVFAIL:
      summary = "SERVFAIL";
      break;
    case ARES_ETIMEOUT:
      summary = "timeout";
      break;
    case ARES_EREFUSED:
      summary = "REFUSED";
      break;
    case ARES_ECONNREFUSED:
      summary = "connection refused";
      break;
    case ARES_EBADNAME:
    case ARES_EBADQUERY:
    case ARES_EBADFAMILY:
      summary = "bad name";
      code = absl::StatusCode::kInvalidArgument;
      break;
    case ARES_ECANCELLED:
    case ARES_EDESTRUCTION:
      summary = "cancelled";
      code = absl::StatusCode::kCancelled;
      break;
    default:  // EFORMERR, EBADRESP, ENOTIMP, ENOMEM, ...: the server or path misbehaved
      break;
  }
  return absl::Status(code, absl::StrCat("DNS ", query_type, " lookup of ", name, ": ", summary,
                                         " (c-ares: ", ares_strerror(ares_status), ")"));
}

}  // namespace tern::net::dns
