// ErrnoStatus: turns a failed system call into an absl::Status that names the call, the
// file and errno, with a code the callers can act on (ENOSPC: ResourceExhausted, so the
// SMTP side answers 452 4.3.1; everything else Unavailable or DataLoss as the caller says).
//
//   if (::fdatasync(fd) != 0) return ErrnoStatus("fdatasync", path, errno);
#pragma once

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace tern::core {

inline absl::Status ErrnoStatus(absl::string_view call, absl::string_view file, int err) {
  std::string message =
      absl::StrCat(call, " ", file, ": ", std::strerror(err), " (errno ", err, ")");
  if (err == ENOSPC || err == EDQUOT) return absl::ResourceExhaustedError(message);
  if (err == EIO) return absl::DataLossError(message);
  return absl::UnavailableError(message);
}

}  // namespace tern::core
