// SuppressionList: the suppression store put together for ternd's composition root: the
// index the shards read, the journal it was recovered from, and the writer thread that
// changes both. Open at start-up (blocking: it replays the journal), before any shard runs.
//
//   ASSIGN_OR_RETURN(auto list, SuppressionList::Open({.directory = "/var/spool/tern"}, {}));
//   // RCPT, on any shard (no lock, no allocation):
//   if (auto m = list->index().Check(sender_domain, recipient, now)) { 550 5.7.1 ... }
//   // a hard bounce, on any thread (the callback runs on the writer thread):
//   list->writer().Add(entry, [loop](absl::Status durable) { loop->Post(...); });
//   // ternctl suppress list / export / import: entry_listing.h, suppression_csv.h
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "suppression/suppression_index.h"
#include "suppression/suppression_journal.h"
#include "suppression/suppression_writer.h"

namespace tern::suppression {

class SuppressionList {
 public:
  static absl::StatusOr<std::unique_ptr<SuppressionList>> Open(JournalOptions journal_options,
                                                               WriterOptions writer_options);
  // Finishes the queued requests (the writer), then closes the journal.
  ~SuppressionList();
  SuppressionList(const SuppressionList&) = delete;
  SuppressionList& operator=(const SuppressionList&) = delete;

  const SuppressionIndex& index() const { return index_; }
  SuppressionWriter& writer() { return *writer_; }
  const SuppressionJournal& journal() const { return *journal_; }

 private:
  SuppressionList() = default;
  SuppressionIndex index_;
  std::unique_ptr<SuppressionJournal> journal_;
  std::unique_ptr<SuppressionWriter> writer_;  // destroyed first: it uses the other two
};

}  // namespace tern::suppression
