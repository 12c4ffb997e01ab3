// Where ternd's log lines go (core/log.h formats them): the journal priority prefix, and
// the background writer that keeps a full stderr pipe from ever blocking a shard.
//
// Under systemd (stderr is the journal stream named by $JOURNAL_STREAM) each line starts
// with its sd-daemon priority, "<3>" error, "<4>" warning, "<6>" info, "<7>" debug, so
// `journalctl -p warning` filters by level.
//
// By default a line is written by the calling thread. A daemon calls
// StartBackgroundLogWriter() once at start-up: from then on, when stderr is not a regular
// file (a pipe, journald's socket, a terminal: anything that can stall), lines go through a
// bounded buffer to a writer thread (core/log_writer.h); lines that do not fit are dropped and
// counted (LogLinesDropped(), exported as tern_log_lines_dropped_total). A CHECK failure
// flushes what is buffered and writes its own line synchronously before aborting.
//
//   core::StartBackgroundLogWriter();
//   ... TERN_LOG(...) never blocks ...
//   core::FlushLog(absl::Seconds(2));   // before exit
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "core/log.h"

namespace tern::core {

// One formatted line, '\n'-terminated; `journal` adds the "<N>" priority prefix.
std::string FormatLogLine(LogLevel level, bool journal, absl::Time time, absl::string_view thread,
                          absl::string_view file_base, int line, absl::string_view message);
// True when $JOURNAL_STREAM ("DEV:INODE") names the file stderr is open on.
bool StderrIsJournalStream();

inline constexpr size_t kLogBufferBytesDefault = 1 << 20;
// From now on lines go through a writer thread with a buffer of `buffer_bytes_max`, unless
// stderr is a regular file (once per process; later calls do nothing). Also re-reads
// $JOURNAL_STREAM.
void StartBackgroundLogWriter(size_t buffer_bytes_max = kLogBufferBytesDefault);
// Waits up to `timeout` for the writer thread to write what is buffered (before exit).
void FlushLog(absl::Duration timeout);
// Lines dropped because the buffer was full (stderr not keeping up), since start.
uint64_t LogLinesDropped();

}  // namespace tern::core
