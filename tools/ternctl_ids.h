// Queue ids for ternctl's hold, release, flush, delete and bounce: given on the command
// line, or read from standard input where an argument is "-" (one id per line, blank lines
// and surrounding whitespace ignored), as in
//   ternctl queue --jsonl --domain=x | jq -r .id | ternctl delete -
// and split into batches whose "&id=..." query stays well under the admin server's 8 KiB
// request bound (net/admin_server.h), so any number of ids (up to kIdsMax) can be given.
//
//   ASSIGN_OR_RETURN(std::vector<std::string> ids, ExpandIds(args, stdin));
//   for (const std::vector<std::string>& batch : BatchIds(ids, kIdQueryBytesMax)) Send(batch);
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tern::tools {

// At most this many ids in one command (16 MiB of input).
inline constexpr size_t kIdsMax = 1'000'000;
// The "&id=ID" part of one request at most: the rest (method, path, filters, headers)
// fits in the remaining 2 KiB of the admin server's 8 KiB.
inline constexpr size_t kIdQueryBytesMax = 6144;

// `args` with every "-" replaced by the ids read from `input`. InvalidArgument names the
// line that is not a queue id (1 to 16 hex digits), or says there are too many.
absl::StatusOr<std::vector<std::string>> ExpandIds(const std::vector<std::string>& args,
                                                   FILE* input);
// The ids in order, cut so that each batch's "&id=ID..." (escaped) is at most
// `query_bytes_max` (or one id, if a single one is longer).
// No ids: no batch.
std::vector<std::vector<std::string>> BatchIds(const std::vector<std::string>& ids,
                                               size_t query_bytes_max);

}  // namespace tern::tools
