// DropPrivileges: ternd started as root binds its ports and opens its spool, then becomes
// --user for good: supplementary groups cleared, gid and uid set (real, effective, saved),
// PR_SET_NO_NEW_PRIVS, and no capability left. It checks the result (setuid(0) must fail,
// every capability set must be empty) and refuses to go on otherwise. Before the switch it
// hands the paths ternd keeps writing (the spool, the delivery log) to the user. The kernel
// also marks the process non-dumpable after the switch, so no core file holds its memory.
//
//   ASSIGN_OR_RETURN(std::string what, DropPrivileges("tern", {spool_dir, delivery_log}));
//   TERN_LOG(kInfo, "%s", what);
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tern::tools::ternd {

// Returns a one-line description of what was done. NotFound: no such user;
// InvalidArgument: the user is root; FailedPrecondition: not started as root (unless the
// process already runs as that user, then nothing is changed); Internal: a step failed or
// its check did not hold. `owned_paths` (files or directories, recursively) that exist are
// chowned to the user first.
absl::StatusOr<std::string> DropPrivileges(const std::string& user,
                                           const std::vector<std::string>& owned_paths);

}  // namespace tern::tools::ternd
