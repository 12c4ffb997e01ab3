// Prepares ternd's command line for abseil's flag parser, which keeps only the last
// occurrence of a flag: list flags (--route, --listen, --dns_servers, ...) may be given many
// times, on the command line and in flagfiles, and every occurrence counts.
//
// --flagfile=FILE arguments are expanded in place (one flag per line; blank lines and lines
// starting with '#' are skipped; nested flagfiles up to a small depth), then every
// occurrence of a list flag ("--name=value" or "--name value") is merged, in order, into one
// comma-separated "--name=..." where the first one was. An empty occurrence ("--route=")
// clears what came before it. Arguments after "--" are left alone.
//
//   ASSIGN_OR_RETURN(std::vector<std::string> args,
//                    PrepareCommandLine(argc, argv, {"route", "listen"}));
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace tern::tools::ternd {

inline constexpr int kFlagfileDepthMax = 8;

// The list flags of ternd (vector<string> flags).
std::vector<absl::string_view> TerndListFlags();

// InvalidArgument naming the flagfile that cannot be read or nests too deep.
absl::StatusOr<std::vector<std::string>> PrepareCommandLine(
    int argc, const char* const* argv, absl::Span<const absl::string_view> list_flags);

// The command line as given at start (`args`, argv[0] first, saved for SIGHUP) prepared
// again with TerndListFlags(): flagfiles are read anew.
absl::StatusOr<std::vector<std::string>> PrepareSavedCommandLine(
    const std::vector<std::string>& args);

// In a prepared command line (argv[0] first): the value of the last --`name` ("--name=V"
// or "--name V"; a list flag's merged "a,b"), or nullopt when it is absent.
std::optional<std::string> FindLastFlagValue(const std::vector<std::string>& prepared,
                                             absl::string_view name);
// FindLastFlagValue, empty when the flag is absent.
std::string LastFlagValue(const std::vector<std::string>& prepared, absl::string_view name);
// A list flag's items, split as abseil splits a std::vector<std::string> flag (what ternd
// got at start-up); empty when the flag is absent.
std::vector<std::string> ListFlagValue(const std::vector<std::string>& prepared,
                                       absl::string_view name);

}  // namespace tern::tools::ternd
