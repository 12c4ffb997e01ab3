// libFuzzer entry point for the bounce classification (delivery/bounce_rules.h,
// delivery/bounce_classifier.h): the input up to its first NUL byte is an operator's rule
// file, the rest a reply. Must never crash nor run unbounded; a refused file names itself on
// every problem line; Classify and Explain agree, with the built-in rules and with the file's.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "delivery/bounce_classifier.h"
#include "delivery/bounce_rules.h"

namespace {

using tern::delivery::BounceClassifier;

void Check(const BounceClassifier& classifier, absl::string_view reply) {
  int code = 0;
  if (reply.size() >= 3) (void)absl::SimpleAtoi(reply.substr(0, 3), &code);
  const absl::string_view enhanced =
      reply.size() > 4 ? reply.substr(4, reply.find(' ', 4) - 4) : absl::string_view();
  const BounceClassifier::Verdict verdict = classifier.Explain(code, enhanced, reply);
  if (verdict.reason.empty()) __builtin_trap();
  if (static_cast<size_t>(verdict.bounce_class) >= tern::delivery::kBounceClassCount) {
    __builtin_trap();
  }
  if (classifier.Classify(code, enhanced, reply) != verdict.bounce_class) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t split = input.find('\0');
  const absl::string_view file = input.substr(0, split);
  const absl::string_view reply =
      split == absl::string_view::npos ? absl::string_view() : input.substr(split + 1);

  static const std::shared_ptr<const BounceClassifier> builtin = *BounceClassifier::Create(nullptr);
  Check(*builtin, reply);

  auto rules = tern::delivery::ParseBounceRules(file, "fuzz.toml");
  if (!rules.ok()) {
    for (absl::string_view line : absl::StrSplit(rules.status().message(), '\n')) {
      if (!absl::StartsWith(line, "fuzz.toml") && !absl::StartsWith(line, "... and ")) {
        __builtin_trap();
      }
    }
    return 0;
  }
  if (rules->rules.size() > tern::delivery::kBounceRulesMax) __builtin_trap();
  auto classifier = BounceClassifier::Create(&*rules);
  if (classifier.ok()) Check(**classifier, reply);
  return 0;
}
