// Implementation of tools/ternd/build_info_metric.h.
#include "tools/ternd/build_info_metric.h"

#include "absl/strings/str_cat.h"
#include "core/build_info.h"

namespace tern::ternd {
namespace {

// Prometheus text format: a label value escapes backslash, double quote and newline.
std::string EscapeLabelValue(absl::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

void AppendBuildInfoMetric(absl::string_view version, absl::string_view revision,
                           std::string* out) {
  absl::StrAppend(out,
                  "# HELP tern_build_info The running ternd's version and source revision "
                  "(always 1).\n",
                  "# TYPE tern_build_info gauge\n", "tern_build_info{version=\"",
                  EscapeLabelValue(version), "\",revision=\"", EscapeLabelValue(revision),
                  "\"} 1\n");
}

void AppendBuildInfoMetric(std::string* out) {
  AppendBuildInfoMetric(core::BuildVersion(), core::BuildRevision(), out);
}

}  // namespace tern::ternd
