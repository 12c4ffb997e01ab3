// FlagReport: the running ternd's flags that differ from their defaults, for `ternctl
// config` (GET /config), like Postfix's `postconf -n`. Read from abseil's flag registry, so
// the command line and every flagfile count. A flag whose name says it holds a secret
// (contains "token", "password" or "secret", and is not a file name: "..._file") shows
// "(hidden)" instead of its value.
//
//   std::vector<FlagSetting> flags = NonDefaultFlags();   // sorted by name
//   Print(FlagsText(flags));
#pragma once

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace tern::tools::ternd {

struct FlagSetting {
  std::string name;
  std::string value;  // "(hidden)" for a secret
  std::string default_value;
  bool hidden = false;
};

inline constexpr absl::string_view kHiddenFlagValue = "(hidden)";

// One flag as the registry knows it.
struct FlagValues {
  std::string name;
  std::string current;
  std::string default_value;
};

bool IsSecretFlag(absl::string_view name);
// Of `flags`, those whose current value differs from their default, sorted by name, secrets
// hidden. Flags of abseil's own parsing (flagfile, fromenv, tryfromenv, undefok) are left out.
std::vector<FlagSetting> NonDefault(std::vector<FlagValues> flags);
// NonDefault() of every flag registered in this program.
std::vector<FlagSetting> NonDefaultFlags();

// "--name=value" lines, as they would be written in a flagfile.
std::string FlagsText(const std::vector<FlagSetting>& flags);
// {"flags":[{"name":..,"value":..,"default":..,"hidden":false},..]}
std::string FlagsJson(const std::vector<FlagSetting>& flags);
// JSON Lines: one flag object per line.
std::string FlagsJsonLines(const std::vector<FlagSetting>& flags);

}  // namespace tern::tools::ternd
