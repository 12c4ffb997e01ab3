// SuppressionJournal: the suppression list on disk. An append-only file of ADD and REMOVE
// records (format: suppression/journal_record.h), replayed into a SuppressionIndex at open,
// appended to with one write and one fdatasync per batch, and compacted into a snapshot of
// the live set when it has grown much larger than that set.
//
// Every call blocks (open, write, fdatasync, rename): the journal belongs to one thread,
// SuppressionWriter's, never to a shard.
//
//   SuppressionIndex index;
//   ASSIGN_OR_RETURN(auto journal, SuppressionJournal::Open({.directory = dir}, &index));
//   RETURN_IF_ERROR(journal->Append(records));     // durable when OK
//   if (journal->ShouldCompact(index)) RETURN_IF_ERROR(journal->Compact(&index, now));
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "suppression/journal_record.h"
#include "suppression/suppression_index.h"

namespace tern::suppression {

struct JournalOptions {
  std::string directory;
  // Compaction when the file is larger than both this and ratio × the live set's bytes.
  uint64_t compact_bytes_min = uint64_t{64} << 20;
  uint64_t compact_ratio = 2;
};

// Where Compact() stops, to simulate a crash at each step (tests).
enum class CompactionStop { kNone, kAfterWrite, kAfterSync, kAfterRename };

class SuppressionJournal {
 public:
  static constexpr absl::string_view kFileName = "suppression.journal";
  static constexpr absl::string_view kTempFileName = "suppression.journal.tmp";

  // Opens (creating) <directory>/suppression.journal and replays it into `index`, which
  // must be new: empty, and not yet read by any thread (its outgrown tables are freed). A torn tail
  // is cut (and logged); a corrupt record followed by valid ones is a DataLoss error naming the
  // file and the offset. A leftover temp file of an interrupted compaction is deleted.
  static absl::StatusOr<std::unique_ptr<SuppressionJournal>> Open(JournalOptions options,
                                                                  SuppressionIndex* index);
  ~SuppressionJournal();
  SuppressionJournal(const SuppressionJournal&) = delete;
  SuppressionJournal& operator=(const SuppressionJournal&) = delete;

  // Appends the records with one write and one fdatasync: durable when OK. On error the
  // file is cut back to where it was (nothing of the batch stays); if even that fails, the
  // journal refuses every later append (FailedPrecondition) until reopened.
  absl::Status Append(absl::Span<const JournalRecord> records);
  // Appends already encoded records (AppendJournalRecord), likewise.
  absl::Status AppendEncoded(absl::string_view records);

  bool ShouldCompact(const SuppressionIndex& index) const;
  // Rewrites the journal as the index's live entries not expired at `now`: temp file,
  // fdatasync, rename over the journal, fsync of the directory. The expired entries are
  // then removed from the index. The caller holds off other writers (the writer thread).
  absl::Status Compact(SuppressionIndex* index, int64_t now,
                       CompactionStop stop = CompactionStop::kNone);

  const std::string& path() const { return path_; }
  uint64_t file_bytes() const { return file_bytes_; }
  // Of the last Open: records replayed and bytes of a torn tail cut off.
  uint64_t recovered_records() const { return recovered_records_; }
  uint64_t torn_bytes() const { return torn_bytes_; }

 private:
  SuppressionJournal(JournalOptions options, int fd, uint64_t file_bytes);
  absl::Status Replay(SuppressionIndex* index);

  JournalOptions options_;
  std::string path_;
  int fd_;
  uint64_t file_bytes_;
  bool broken_ = false;
  // Bytes of ADD records written and their count, for the average record size.
  uint64_t add_bytes_ = 0;
  uint64_t add_records_ = 0;
  uint64_t recovered_records_ = 0;
  uint64_t torn_bytes_ = 0;
};

}  // namespace tern::suppression
