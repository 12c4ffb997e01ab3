// --help and --version for Tern's programs: abseil's usage output restricted to the flags
// the program defines itself (not abseil's own), and --version printing core::VersionLine.
// Call before absl::ParseCommandLine.
//
//   ConfigureProgramUsage({.program = "ternctl",
//                          .summary = "ternctl COMMAND [flags] ...",
//                          .flag_files = {"tools/ternctl.cc"}});
//   absl::ParseCommandLine(argc, argv);  // --help and --version print and exit here
#pragma once

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace tern::tools {

struct ProgramUsage {
  std::string program;  // the name --version prints, e.g. "ternd"
  std::string summary;  // what --help prints before the flags
  // Source files, as paths in the source tree ("tools/ternd/flags.cc"), whose flags --help
  // lists. A flag's file matches when its path ends with one of these.
  std::vector<std::string> flag_files;
};

// Sets the usage message and abseil's usage config (once per process).
void ConfigureProgramUsage(ProgramUsage usage);

// The source-tree path of a compiled file name, however the build spelled it
// ("/src/tern/tools/ternd/flags.cc", "../tools/ternd/flags.cc" -> "tools/ternd/flags.cc"
// when it ends with one of `tree_paths`); otherwise the name without leading "../" and "./".
std::string NormalizeSourcePath(absl::string_view file, const std::vector<std::string>& tree_paths);

// True when `file` (normalized or not) ends with one of `tree_paths` at a path boundary.
bool IsOneOf(absl::string_view file, const std::vector<std::string>& tree_paths);

}  // namespace tern::tools
