// Implementation of delivery/bounce_rules.h: TOML (toml++ through core/toml_input.h) →
// BounceRuleSet, collecting every problem with its line.
#include "delivery/bounce_rules.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <string_view>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "core/toml_input.h"
#include "re2/re2.h"

namespace tern::delivery {
namespace {

// toml++ speaks std::string_view; Debian's abseil has its own string_view.
absl::string_view View(std::string_view text) {
  return absl::string_view(text.data(), text.size());
}

bool IsRuleName(absl::string_view name) {
  return !name.empty() && name.size() <= kBounceRuleNameBytesMax &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ||
                  c == '.' || c == ':' || c == '/';
         });
}

std::string KnownClasses() {
  std::string known;
  for (size_t i = 0; i < kBounceClassCount; ++i) {
    absl::StrAppend(&known, i == 0 ? "" : ", ", BounceClassName(static_cast<BounceClass>(i)));
  }
  return known;
}

class RulesReader {
 public:
  explicit RulesReader(absl::string_view origin) : origin_(origin) {}

  absl::StatusOr<BounceRuleSet> Read(absl::string_view text) {
    absl::StatusOr<toml::table> top = core::ParseTomlText(text, origin_, kBounceRulesFileBytesMax);
    if (!top.ok()) return top.status();
    ReadTop(*top);
    if (problems_.empty()) return std::move(rules_);
    return problems_.ToStatus();
  }

 private:
  void Problem(uint32_t line, absl::string_view key, absl::string_view what) {
    problems_.Add(line, absl::StrCat(origin_, ":", line, ": ", key, ": ", what));
  }

  void ReadTop(const toml::table& top) {
    for (auto&& [key, node] : top) {
      const absl::string_view name = View(key.str());
      const uint32_t line = key.source().begin.line;
      if (name == "use_builtin") {
        if (const auto* flag = node.as_boolean()) {
          rules_.use_builtin = flag->get();
        } else {
          Problem(line, "use_builtin", "must be true or false");
        }
      } else if (name == "rule") {
        const toml::array* list = node.as_array();
        if (list == nullptr) {
          Problem(line, "rule", "must be a list of tables: write each rule under [[rule]]");
          continue;
        }
        for (const toml::node& entry : *list) ReadRule(entry);
      } else {
        Problem(line, absl::CEscape(name.substr(0, 80)),
                "unknown key (known: use_builtin, [[rule]])");
      }
    }
  }

  void ReadRule(const toml::node& entry) {
    const uint32_t line = entry.source().begin.line;
    const toml::table* table = entry.as_table();
    if (table == nullptr) {
      Problem(line, "rule", "must be a table: write each rule under [[rule]]");
      return;
    }
    if (++rules_seen_ > kBounceRulesMax) {
      if (rules_seen_ == kBounceRulesMax + 1) {
        Problem(line, "rule", absl::StrCat("more than ", kBounceRulesMax, " rules"));
      }
      return;
    }
    BounceRule rule;
    bool has_class = false;
    bool has_match = false;
    for (auto&& [key, node] : *table) {
      const absl::string_view field = View(key.str());
      const uint32_t field_line = key.source().begin.line;
      const std::string path = absl::StrCat("rule.", absl::CEscape(field.substr(0, 80)));
      const auto* value = node.as_string();
      if (field != "name" && field != "class" && field != "match") {
        Problem(field_line, path, "unknown key (known: name, class, match)");
        continue;
      }
      if (value == nullptr) {
        Problem(field_line, path, "must be a string");
        continue;
      }
      const absl::string_view text = View(value->get());
      if (field == "name") {
        if (!IsRuleName(text)) {
          Problem(field_line, path,
                  absl::StrCat("a rule name is 1 to ", kBounceRuleNameBytesMax,
                               " letters, digits, '-', '_', '.', ':' and '/'"));
        }
        rule.name = std::string(text);
      } else if (field == "class") {
        has_class = true;
        if (std::optional<BounceClass> parsed = ParseBounceClassName(text)) {
          rule.bounce_class = *parsed;
        } else {
          Problem(field_line, path,
                  absl::StrCat("unknown class '", absl::CEscape(text.substr(0, 80)),
                               "' (known: ", KnownClasses(), ")"));
        }
      } else {
        has_match = true;
        CheckPattern(field_line, path, text);
        rule.pattern = std::string(text.substr(0, kBouncePatternBytesMax));
      }
    }
    if (!has_class) Problem(line, "rule", "no class = \"...\"");
    if (!has_match) Problem(line, "rule", "no match = '...'");
    if (rule.name.empty()) rule.name = absl::StrCat(origin_, ":", line);
    rules_.rules.push_back(std::move(rule));
  }

  void CheckPattern(uint32_t line, absl::string_view path, absl::string_view pattern) {
    if (pattern.empty()) {
      Problem(line, path, "empty regular expression");
      return;
    }
    if (pattern.size() > kBouncePatternBytesMax) {
      Problem(
          line, path,
          absl::StrCat("longer than ", kBouncePatternBytesMax, " bytes (", pattern.size(), ")"));
      return;
    }
    RE2::Options options;
    options.set_case_sensitive(false);
    options.set_log_errors(false);
    const RE2 compiled(re2::StringPiece(pattern.data(), pattern.size()), options);
    if (!compiled.ok()) {
      Problem(line, path,
              absl::StrCat("bad regular expression: ", core::OneLineTomlText(compiled.error())));
    }
  }

  std::string origin_;
  BounceRuleSet rules_;
  size_t rules_seen_ = 0;
  core::TomlProblems problems_{kBounceRuleProblemsMax};
};

}  // namespace

absl::StatusOr<BounceRuleSet> ParseBounceRules(absl::string_view toml_text,
                                               absl::string_view origin) {
  return RulesReader(origin).Read(toml_text);
}

absl::StatusOr<BounceRuleSet> ReadBounceRulesFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot open bounce rules ", path, ": ", std::strerror(errno)));
  }
  std::string text(kBounceRulesFileBytesMax + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return absl::InvalidArgumentError(absl::StrCat("cannot read bounce rules ", path));
  text.resize(static_cast<size_t>(in.gcount()));
  return ParseBounceRules(text, path);
}

}  // namespace tern::delivery
