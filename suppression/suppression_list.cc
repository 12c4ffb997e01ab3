// SuppressionList (suppression/suppression_list.h).
#include "suppression/suppression_list.h"

#include <utility>

#include "absl/memory/memory.h"
#include "core/status_macros.h"

namespace tern::suppression {

absl::StatusOr<std::unique_ptr<SuppressionList>> SuppressionList::Open(
    JournalOptions journal_options, WriterOptions writer_options) {
  auto list = absl::WrapUnique(new SuppressionList);
  ASSIGN_OR_RETURN(list->journal_,
                   SuppressionJournal::Open(std::move(journal_options), &list->index_));
  list->writer_ = std::make_unique<SuppressionWriter>(list->journal_.get(), &list->index_,
                                                      std::move(writer_options));
  return list;
}

SuppressionList::~SuppressionList() { writer_.reset(); }

}  // namespace tern::suppression
