// libFuzzer entry point for the suppression list's CSV importer (suppression/suppression_csv.h):
// arbitrary text as `ternctl suppress import FILE` reads it. Must never crash, and what it
// accepts must survive a round trip: exported again and re-imported, the same entries.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "suppression/entry_listing.h"
#include "suppression/suppression_csv.h"
#include "suppression/suppression_index.h"

namespace {

using tern::suppression::Entry;
using tern::suppression::EntryView;

std::map<std::string, Entry> Contents(const tern::suppression::SuppressionIndex& index) {
  std::map<std::string, Entry> out;
  index.ForEach(
      [&](const EntryView& e) { out[absl::StrCat(e.scope, "|", e.target)] = e.ToEntry(); });
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  constexpr int64_t kNow = 1800000000;
  absl::StatusOr<std::vector<Entry>> entries =
      tern::suppression::ParseCsvEntries(text, kNow, 10000);
  if (!entries.ok()) return 0;
  tern::suppression::SuppressionIndex index;
  for (const Entry& e : *entries) {
    if (!tern::suppression::ValidateEntry(e).ok()) __builtin_trap();
    index.Put(e);
  }
  std::string csv;
  tern::suppression::EntryFilter all;
  all.include_expired = true;
  absl::Status exported = tern::suppression::ExportEntries(
      index, all, kNow, tern::suppression::ExportFormat::kCsv, [&](absl::string_view chunk) {
        csv.append(chunk.data(), chunk.size());
        return absl::OkStatus();
      });
  if (!exported.ok()) __builtin_trap();
  absl::StatusOr<std::vector<Entry>> again = tern::suppression::ParseCsvEntries(csv, 0, 10000);
  if (!again.ok()) __builtin_trap();
  tern::suppression::SuppressionIndex second;
  for (const Entry& e : *again) second.Put(e);
  if (Contents(index) != Contents(second)) __builtin_trap();
  return 0;
}
