// Implementation of tools/ternctl/delivery_log_reader.h.
#include "tools/ternctl/delivery_log_reader.h"

#include <sys/stat.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "tools/ternctl/delivery_log_entry.h"

namespace tern::tools::ternctl {
namespace {

constexpr unsigned kReadChunkBytes = 1 << 16;

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// What one file held: its newest event time (InfinitePast when none).
struct FileRead {
  absl::Time newest = absl::InfinitePast();
  std::string warning;
};

FileRead ReadOneFile(const std::string& path, absl::Time since, absl::Time until,
                     DeliveryReport* report, LogReadSummary* summary) {
  FileRead result;
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) {
    result.warning = absl::StrCat(path, ": ", strerror(errno));
    return result;
  }
  gzbuffer(file, kReadChunkBytes);
  auto take_line = [&](absl::string_view line) {
    ++summary->lines;
    std::optional<DeliveryLogEntry> entry = ParseDeliveryLogLine(line);
    if (!entry.has_value()) {
      if (!line.empty()) report->AddSkipped();
      return;
    }
    result.newest = std::max(result.newest, entry->time);
    if (entry->time < since || entry->time >= until) return;
    ++summary->lines_in_window;
    report->Add(*entry);
  };
  std::string pending;    // the start of a line not yet ended
  bool skipping = false;  // inside an overlong line, until its newline
  std::string chunk(kReadChunkBytes, '\0');
  while (true) {
    const int n = gzread(file, chunk.data(), kReadChunkBytes);
    if (n < 0) {
      int errnum = 0;
      result.warning = absl::StrCat(path, ": ", gzerror(file, &errnum));
      break;
    }
    if (n == 0) break;
    absl::string_view data(chunk.data(), static_cast<size_t>(n));
    while (!data.empty()) {
      const size_t newline = data.find('\n');
      const absl::string_view piece = data.substr(0, newline);
      if (!skipping) {
        if (pending.size() + piece.size() > kLineBytesMax) {
          skipping = true;
          pending.clear();
          ++summary->lines;
          report->AddSkipped();
        } else if (newline == absl::string_view::npos || !pending.empty()) {
          pending.append(piece.data(), piece.size());
        }
      }
      if (newline == absl::string_view::npos) break;
      if (!skipping) {
        take_line(pending.empty() ? piece : absl::string_view(pending));
        pending.clear();
      }
      skipping = false;
      data.remove_prefix(newline + 1);
    }
  }
  // A last line without its newline (a write in progress, or a truncated file).
  if (!skipping && !pending.empty()) take_line(pending);
  // A truncated gzip stream reads as an end of file with Z_BUF_ERROR set.
  int errnum = Z_OK;
  const char* message = gzerror(file, &errnum);
  if (errnum != Z_OK && result.warning.empty()) result.warning = absl::StrCat(path, ": ", message);
  gzclose(file);
  return result;
}

}  // namespace

std::vector<std::string> RotatedLogFiles(const std::string& path) {
  std::vector<std::string> files;
  if (Exists(path)) files.push_back(path);
  for (int i = 1; i <= kRotatedFilesMax; ++i) {
    const std::string plain = absl::StrCat(path, ".", i);
    const std::string gz = absl::StrCat(plain, ".gz");
    const bool has_plain = Exists(plain);
    const bool has_gz = Exists(gz);
    if (!has_plain && !has_gz) break;
    if (has_plain) files.push_back(plain);
    if (has_gz) files.push_back(gz);
  }
  return files;
}

absl::StatusOr<LogReadSummary> ReadDeliveryLog(const std::string& path, absl::Time since,
                                               absl::Time until, DeliveryReport* report) {
  const std::vector<std::string> files = RotatedLogFiles(path);
  if (files.empty()) {
    return absl::NotFoundError(absl::StrCat(path, ": no delivery log (nor rotated files) there"));
  }
  LogReadSummary summary;
  for (size_t i = 0; i < files.size(); ++i) {
    const std::string& file = files[i];
    struct stat st;
    // Written last before `since`: this file and every older one lie before the window
    // (the newest file is always read: its clock may be off).
    if (i > 0 && stat(file.c_str(), &st) == 0 &&
        absl::FromUnixSeconds(st.st_mtim.tv_sec) + absl::Seconds(1) < since) {
      break;
    }
    FileRead read = ReadOneFile(file, since, until, report, &summary);
    summary.files_read.push_back(file);
    if (!read.warning.empty()) summary.warnings.push_back(std::move(read.warning));
    if (read.newest != absl::InfinitePast() && read.newest < since) break;
  }
  return summary;
}

}  // namespace tern::tools::ternctl
