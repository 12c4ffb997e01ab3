// Implementation of tools/program_usage.h.
#include "tools/program_usage.h"

#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "core/build_info.h"

namespace tern::tools {
namespace {

bool EndsWithPath(absl::string_view file, absl::string_view tree_path) {
  if (!absl::EndsWith(file, tree_path)) return false;
  return file.size() == tree_path.size() || file[file.size() - tree_path.size() - 1] == '/';
}

}  // namespace

bool IsOneOf(absl::string_view file, const std::vector<std::string>& tree_paths) {
  for (const std::string& path : tree_paths) {
    if (EndsWithPath(file, path)) return true;
  }
  return false;
}

std::string NormalizeSourcePath(absl::string_view file,
                                const std::vector<std::string>& tree_paths) {
  for (const std::string& path : tree_paths) {
    if (EndsWithPath(file, path)) return path;
  }
  while (absl::ConsumePrefix(&file, "../") || absl::ConsumePrefix(&file, "./")) {
  }
  return std::string(file);
}

void ConfigureProgramUsage(ProgramUsage usage) {
  absl::SetProgramUsageMessage(usage.summary);
  absl::FlagsUsageConfig config;
  const std::vector<std::string> files = usage.flag_files;
  config.contains_help_flags = [files](absl::string_view file) { return IsOneOf(file, files); };
  config.contains_helpshort_flags = config.contains_help_flags;
  const std::string program = usage.program;
  config.version_string = [program] { return absl::StrCat(core::VersionLine(program), "\n"); };
  config.normalize_filename = [files](absl::string_view file) {
    return NormalizeSourcePath(file, files);
  };
  absl::SetFlagsUsageConfig(config);
}

}  // namespace tern::tools
