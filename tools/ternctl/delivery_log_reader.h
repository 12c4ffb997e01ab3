// DeliveryLogReader: feeds a time window of ternd's delivery log, rotated files included,
// into a DeliveryReport. logrotate (deploy/logrotate.d/tern: compress + delaycompress) leaves
//   FILE  FILE.1  FILE.2.gz  FILE.3.gz ...      (newest to oldest)
// Files are read newest first, streaming (zlib reads plain and gzip files alike), one line
// at a time; a line longer than kLineBytesMax is skipped whole. Lines are in time order
// within a file, so the first older file whose events all lie before `since` (by its
// modification time, or by its newest line once read) ends the walk.
//
//   DeliveryReport report;
//   absl::StatusOr<LogReadSummary> read =
//       ReadDeliveryLog("/var/log/tern/delivery.jsonl", now - absl::Hours(24), now, &report);
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tools/ternctl/delivery_report.h"

namespace tern::tools::ternctl {

inline constexpr size_t kLineBytesMax = 1 << 20;
// Rotated files looked for at most (logrotate's `rotate 14` keeps 15 files).
inline constexpr int kRotatedFilesMax = 1000;

// The files that exist of FILE, FILE.1 (or FILE.1.gz), FILE.2.gz, ..., newest first; the
// numbering stops at the first number with neither file.
std::vector<std::string> RotatedLogFiles(const std::string& path);

struct LogReadSummary {
  std::vector<std::string> files_read;  // newest first
  uint64_t lines = 0;                   // lines read, in the window or not
  uint64_t lines_in_window = 0;
  std::vector<std::string> warnings;  // a file that could not be read whole
};

// Reads the events of [since, until) into `report`. An error only when not even FILE (nor
// any rotated file) exists; a damaged file ends that file's read with a warning.
absl::StatusOr<LogReadSummary> ReadDeliveryLog(const std::string& path, absl::Time since,
                                               absl::Time until, DeliveryReport* report);

}  // namespace tern::tools::ternctl
