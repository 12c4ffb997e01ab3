// `{{ name }}` placeholders in templates (subject, bodies, header values, raw content),
// replaced by one recipient's values, which override the request's.
//
//   SubstitutionValues values(request.substitutions, recipient.substitutions);
//   std::string subject;
//   RETURN_IF_ERROR(ExpandTemplate(template_text, values, Placement::kHeader,
//                                  /*bytes_max=*/4096, &subject));
//
// Syntax: "{{", optional spaces, a name of [A-Za-z0-9_.-]+, optional spaces, "}}". Anything
// else (a lone "{{", "{{ }}", "{{a b}}") is copied as it is. A name without a value becomes
// the empty string (a mail merge with a gap beats a refused request; the client chose the
// names). The output is bounded: past `bytes_max` the expansion stops with
// ResourceExhausted, so 10,000 placeholders of 1 KiB values cannot build a huge message.
// In kHeader placement every CR, LF and other control character (bar TAB) of a value becomes
// a space, so that no value can start a new header field.
#pragma once

#include <cstddef>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "inject/inject_request.h"

namespace tern::inject {

// The values one recipient's message sees: the recipient's, then the request's.
class SubstitutionValues {
 public:
  SubstitutionValues(const StringPairs& request_level, const StringPairs& recipient_level);

  // The value of `name`, or empty when neither level has it.
  absl::string_view Find(absl::string_view name) const;

 private:
  absl::flat_hash_map<absl::string_view, absl::string_view> values_;
};

enum class Placement {
  kBody,    // values as they are
  kHeader,  // control characters (CR, LF, ...) of values become spaces
};

// Appends `text_template` with its placeholders replaced to `*out`; ResourceExhausted when
// `*out` would grow past `bytes_max` (its previous content counts).
absl::Status ExpandTemplate(absl::string_view text_template, const SubstitutionValues& values,
                            Placement placement, size_t bytes_max, std::string* out);

}  // namespace tern::inject
