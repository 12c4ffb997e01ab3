// Implementation of tools/ternd/command_line.h.
#include "tools/ternd/command_line.h"

#include <algorithm>
#include <fstream>
#include <optional>

#include "absl/flags/marshalling.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/status_macros.h"

namespace tern::tools::ternd {
namespace {

// "--name=value" / "-name=value" -> (name, value); "--name" -> (name, nullopt).
struct FlagArg {
  std::string name;
  std::optional<std::string> value;
};

std::optional<FlagArg> SplitFlag(absl::string_view arg) {
  if (!absl::ConsumePrefix(&arg, "--") && !absl::ConsumePrefix(&arg, "-")) return std::nullopt;
  if (arg.empty()) return std::nullopt;
  const size_t eq = arg.find('=');
  if (eq == absl::string_view::npos) return FlagArg{std::string(arg), std::nullopt};
  return FlagArg{std::string(arg.substr(0, eq)), std::string(arg.substr(eq + 1))};
}

absl::Status Expand(const std::vector<std::string>& in, int depth, std::vector<std::string>* out) {
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == "--") {
      out->insert(out->end(), in.begin() + static_cast<ptrdiff_t>(i), in.end());
      return absl::OkStatus();
    }
    std::optional<FlagArg> flag = SplitFlag(in[i]);
    if (!flag.has_value() || flag->name != "flagfile") {
      out->push_back(in[i]);
      continue;
    }
    std::string files;
    if (flag->value.has_value()) {
      files = *flag->value;
    } else if (i + 1 < in.size()) {
      files = in[++i];
    }
    for (absl::string_view path : absl::StrSplit(files, ',', absl::SkipEmpty())) {
      if (depth >= kFlagfileDepthMax) {
        return absl::InvalidArgumentError(
            absl::StrCat("--flagfile=", path, ": flagfiles nest deeper than ", kFlagfileDepthMax));
      }
      std::ifstream file{std::string(path)};
      if (!file) {
        return absl::InvalidArgumentError(absl::StrCat("--flagfile=", path, ": cannot read it"));
      }
      std::vector<std::string> lines;
      for (std::string line; std::getline(file, line);) {
        absl::string_view text = absl::StripAsciiWhitespace(line);
        if (text.empty() || text[0] == '#') continue;
        lines.emplace_back(text);
      }
      RETURN_IF_ERROR(Expand(lines, depth + 1, out));
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<absl::string_view> TerndListFlags() {
  return {"listen",         "submission_listen",   "smtps_listen",
          "relay_networks", "relay_domains",       "route",
          "dns_servers",    "outbound_tls_policy", "dkim_key",
          "admin_hosts",    "egress_source",       "egress_pool",
          "sender_pool"};
}

absl::StatusOr<std::vector<std::string>> PrepareCommandLine(
    int argc, const char* const* argv, absl::Span<const absl::string_view> list_flags) {
  std::vector<std::string> in;
  for (int i = 1; i < argc; ++i) in.emplace_back(argv[i]);
  std::vector<std::string> expanded;
  RETURN_IF_ERROR(Expand(in, 0, &expanded));

  std::vector<std::string> out;
  out.emplace_back(argc > 0 ? argv[0] : "ternd");
  struct Merged {
    size_t position;  // in out
    std::vector<std::string> values;
  };
  std::vector<std::pair<std::string, Merged>> merged;
  for (size_t i = 0; i < expanded.size(); ++i) {
    if (expanded[i] == "--") {
      out.insert(out.end(), expanded.begin() + static_cast<ptrdiff_t>(i), expanded.end());
      break;
    }
    std::optional<FlagArg> flag = SplitFlag(expanded[i]);
    const bool is_list = flag.has_value() && std::find(list_flags.begin(), list_flags.end(),
                                                       flag->name) != list_flags.end();
    if (!is_list) {
      out.push_back(expanded[i]);
      continue;
    }
    std::string value;
    if (flag->value.has_value()) {
      value = *flag->value;
    } else if (i + 1 < expanded.size()) {
      value = expanded[++i];
    }
    auto it = std::find_if(merged.begin(), merged.end(),
                           [&](const auto& m) { return m.first == flag->name; });
    if (it == merged.end()) {
      merged.push_back({flag->name, Merged{out.size(), {}}});
      out.emplace_back();  // filled below
      it = merged.end() - 1;
    }
    if (value.empty()) {
      it->second.values.clear();
    } else {
      it->second.values.push_back(value);
    }
  }
  for (const auto& [name, m] : merged) {
    out[m.position] = absl::StrCat("--", name, "=", absl::StrJoin(m.values, ","));
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> PrepareSavedCommandLine(
    const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  argv.reserve(args.size());
  for (const std::string& arg : args) argv.push_back(arg.c_str());
  return PrepareCommandLine(static_cast<int>(argv.size()), argv.data(), TerndListFlags());
}

std::optional<std::string> FindLastFlagValue(const std::vector<std::string>& prepared,
                                             absl::string_view name) {
  std::optional<std::string> value;
  for (size_t i = 1; i < prepared.size(); ++i) {
    if (prepared[i] == "--") break;
    std::optional<FlagArg> flag = SplitFlag(prepared[i]);
    if (!flag.has_value() || flag->name != name) continue;
    if (flag->value.has_value()) {
      value = *flag->value;
    } else if (i + 1 < prepared.size()) {
      value = prepared[++i];
    } else {
      value = "";
    }
  }
  return value;
}

std::string LastFlagValue(const std::vector<std::string>& prepared, absl::string_view name) {
  return FindLastFlagValue(prepared, name).value_or("");
}

std::vector<std::string> ListFlagValue(const std::vector<std::string>& prepared,
                                       absl::string_view name) {
  std::vector<std::string> items;
  std::string error;
  // Never fails: every text is a list of strings.
  if (!absl::ParseFlag(LastFlagValue(prepared, name), &items, &error)) items.clear();
  return items;
}

}  // namespace tern::tools::ternd
