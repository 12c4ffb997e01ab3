// Build identity: the project version (CMake's `project(tern VERSION ...)`) and the source
// revision (`git describe --always --dirty --tags` at build time, "unknown" outside a git
// checkout). Every program prints them for --version; /metrics exports them as tern_build_info.
//
//   printf("ternd %s (%s)\n", std::string(core::BuildVersion()).c_str(), ...);
#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace tern::core {

// "MAJOR.MINOR.PATCH", e.g. "0.15.0".
absl::string_view BuildVersion();
// e.g. "36d41fc" or "36d41fc-dirty"; "unknown" when built without git.
absl::string_view BuildRevision();
// One line for --version: "PROGRAM VERSION (revision REVISION, BUILD_TYPE)".
std::string VersionLine(absl::string_view program);

}  // namespace tern::core
