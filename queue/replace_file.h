// ReplaceFile: writes a small state file so that a crash or power loss leaves either the old
// contents or the new, never a mix: write a temporary file beside it, fsync it, rename it
// over the target, fsync the directory. Blocking: for start-up, shutdown and the rare state
// save from a maintenance thread, never on a shard's loop.
//
//   RETURN_IF_ERROR(ReplaceFile("/var/spool/tern/shaping-state.jsonl", text, 0640));
#pragma once

#include <sys/types.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace tern::queue {

// A Status naming the failed call, the file and errno; the temporary file is removed on error.
absl::Status ReplaceFile(const std::string& path, absl::string_view contents, mode_t mode);

}  // namespace tern::queue
