// Status propagation macros. Debian's abseil (20220623) ships absl::Status but not the
// RETURN_IF_ERROR / ASSIGN_OR_RETURN helpers, so Tern defines them once, here.
//
//   RETURN_IF_ERROR(file.Sync());
//   ASSIGN_OR_RETURN(auto fd, OpenSegment(path));
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define TERN_STATUS_CONCAT_INNER(a, b) a##b
#define TERN_STATUS_CONCAT(a, b) TERN_STATUS_CONCAT_INNER(a, b)

#define RETURN_IF_ERROR(expr)                    \
  do {                                           \
    ::absl::Status tern_status_ = (expr);        \
    if (!tern_status_.ok()) return tern_status_; \
  } while (0)

#define TERN_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return std::move(tmp).status();   \
  lhs = std::move(tmp).value()

#define ASSIGN_OR_RETURN(lhs, expr) \
  TERN_ASSIGN_OR_RETURN_IMPL(TERN_STATUS_CONCAT(tern_statusor_, __LINE__), lhs, expr)
