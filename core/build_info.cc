// Implementation of core/build_info.h (BuildRevision() is generated into the build tree).
#include "core/build_info.h"

#include "absl/strings/str_cat.h"

#ifndef TERN_VERSION
#error "TERN_VERSION is set by core/CMakeLists.txt from the project version"
#endif
#ifndef TERN_BUILD_TYPE
#define TERN_BUILD_TYPE "unknown"
#endif

namespace tern::core {

absl::string_view BuildVersion() { return TERN_VERSION; }

std::string VersionLine(absl::string_view program) {
  return absl::StrCat(program, " ", BuildVersion(), " (revision ", BuildRevision(), ", ",
                      TERN_BUILD_TYPE, " build)");
}

}  // namespace tern::core
