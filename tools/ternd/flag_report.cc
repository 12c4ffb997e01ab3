// Implementation of tools/ternd/flag_report.h.
#include "tools/ternd/flag_report.h"

#include <algorithm>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/json_writer.h"

namespace tern::ternd {

bool IsSecretFlag(absl::string_view name) {
  const std::string lower = absl::AsciiStrToLower(name);
  if (absl::EndsWith(lower, "_file")) return false;  // a path, not the secret
  for (const absl::string_view word : {"token", "password", "secret"}) {
    if (absl::StrContains(lower, word)) return true;
  }
  return false;
}

std::vector<FlagSetting> NonDefaultFlags() {
  static constexpr absl::string_view kParsingFlags[] = {"flagfile", "fromenv", "tryfromenv",
                                                        "undefok"};
  std::vector<FlagSetting> flags;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (std::find(std::begin(kParsingFlags), std::end(kParsingFlags), name) !=
        std::end(kParsingFlags)) {
      continue;
    }
    std::string value = flag->CurrentValue();
    std::string default_value = flag->DefaultValue();
    if (value == default_value) continue;
    FlagSetting setting{.name = std::string(name),
                        .value = std::move(value),
                        .default_value = std::move(default_value),
                        .hidden = IsSecretFlag(name)};
    if (setting.hidden) {
      setting.value = std::string(kHiddenFlagValue);
      setting.default_value = std::string(kHiddenFlagValue);
    }
    flags.push_back(std::move(setting));
  }
  std::sort(flags.begin(), flags.end(),
            [](const FlagSetting& a, const FlagSetting& b) { return a.name < b.name; });
  return flags;
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

}  // namespace tern::ternd
