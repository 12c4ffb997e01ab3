// libFuzzer entry point for the suppression journal's recovery (suppression/
// suppression_journal.h): arbitrary bytes written to a journal file and opened. Must never
// crash; when the open succeeds (a torn tail cut), the journal must be clean: an append and
// a second open recover the same entries and the new one.
#include <stdlib.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "suppression/journal_record.h"
#include "suppression/suppression_index.h"
#include "suppression/suppression_journal.h"

namespace {

const std::string& Directory() {
  static const std::string* directory = [] {
    char pattern[] = "/tmp/suppression_journal_fuzz.XXXXXX";
    if (mkdtemp(pattern) == nullptr) __builtin_trap();
    return new std::string(pattern);
  }();
  return *directory;
}

void WriteFile(const std::string& path, absl::string_view a, absl::string_view b) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) __builtin_trap();
  std::fwrite(a.data(), 1, a.size(), f);
  std::fwrite(b.data(), 1, b.size(), f);
  std::fclose(f);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using tern::suppression::JournalOptions;
  using tern::suppression::SuppressionIndex;
  using tern::suppression::SuppressionJournal;
  absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  // The first byte chooses: even, the rest follows a valid file magic (so that records are
  // reached at once); odd, the rest is the whole file.
  if (bytes.empty()) return 0;
  const absl::string_view prefix =
      (static_cast<uint8_t>(bytes[0]) & 1) == 0 ? tern::suppression::kJournalFileMagic : "";
  bytes.remove_prefix(1);
  const JournalOptions options{Directory()};
  WriteFile(absl::StrCat(Directory(), "/", SuppressionJournal::kFileName), prefix, bytes);
  size_t expected = 0;
  {
    SuppressionIndex index;
    auto journal = SuppressionJournal::Open(options, &index);
    if (!journal.ok()) return 0;
    // The appended entry replaces one of the same key, or adds one.
    expected = index.size() + (index.Find("", "fuzz@example.com") ? 0 : 1);
    tern::suppression::JournalRecord record;
    record.entry.target = "fuzz@example.com";
    record.entry.event = "appended after recovery";
    if (!(*journal)->Append({record}).ok()) __builtin_trap();
  }
  SuppressionIndex index;
  auto journal = SuppressionJournal::Open(options, &index);
  if (!journal.ok()) __builtin_trap();
  if (index.size() != expected) __builtin_trap();
  if (!index.Find("", "fuzz@example.com")) __builtin_trap();
  return 0;
}
