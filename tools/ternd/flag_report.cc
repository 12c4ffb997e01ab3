// Implementation of tools/ternd/flag_report.h.
#include "tools/ternd/flag_report.h"

#include <algorithm>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/json_writer.h"

namespace tern::tools::ternd {

bool IsSecretFlag(absl::string_view name) {
  const std::string lower = absl::AsciiStrToLower(name);
  if (absl::EndsWith(lower, "_file")) return false;  // a path, not the secret
  for (const absl::string_view word : {"token", "password", "secret"}) {
    if (absl::StrContains(lower, word)) return true;
  }
  return false;
}

std::vector<FlagSetting> NonDefault(std::vector<FlagValues> flags) {
  static constexpr absl::string_view kParsingFlags[] = {"flagfile", "fromenv", "tryfromenv",
                                                        "undefok"};
  std::vector<FlagSetting> settings;
  for (FlagValues& flag : flags) {
    if (flag.current == flag.default_value ||
        std::find(std::begin(kParsingFlags), std::end(kParsingFlags), flag.name) !=
            std::end(kParsingFlags)) {
      continue;
    }
    const bool hidden = IsSecretFlag(flag.name);
    settings.push_back(FlagSetting{
        .name = std::move(flag.name),
        .value = hidden ? std::string(kHiddenFlagValue) : std::move(flag.current),
        .default_value = hidden ? std::string(kHiddenFlagValue) : std::move(flag.default_value),
        .hidden = hidden});
  }
  std::sort(settings.begin(), settings.end(),
            [](const FlagSetting& a, const FlagSetting& b) { return a.name < b.name; });
  return settings;
}

std::vector<FlagSetting> NonDefaultFlags() {
  std::vector<FlagValues> flags;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    flags.push_back(FlagValues{.name = std::string(name),
                               .current = flag->CurrentValue(),
                               .default_value = flag->DefaultValue()});
  }
  return NonDefault(std::move(flags));
}

std::string FlagsText(const std::vector<FlagSetting>& flags) {
  std::string out;
  for (const FlagSetting& flag : flags)
    absl::StrAppend(&out, "--", flag.name, "=", flag.value, "\n");
  return out;
}

namespace {

void FlagJson(const FlagSetting& flag, core::JsonWriter* json) {
  json->BeginObject();
  json->Key("name");
  json->String(flag.name);
  json->Key("value");
  json->String(flag.value);
  json->Key("default");
  json->String(flag.default_value);
  json->Key("hidden");
  json->Bool(flag.hidden);
  json->EndObject();
}

}  // namespace

std::string FlagsJsonLines(const std::vector<FlagSetting>& flags) {
  std::string out;
  core::JsonWriter json(&out);
  for (const FlagSetting& flag : flags) {
    FlagJson(flag, &json);
    out.push_back('\n');
  }
  return out;
}

std::string FlagsJson(const std::vector<FlagSetting>& flags) {
  std::string out;
  core::JsonWriter json(&out);
  json.BeginObject();
  json.Key("flags");
  json.BeginArray();
  for (const FlagSetting& flag : flags) FlagJson(flag, &json);
  json.EndArray();
  json.EndObject();
  out.push_back('\n');
  return out;
}

}  // namespace tern::tools::ternd
