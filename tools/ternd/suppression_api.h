// SuppressionApi: the admin endpoint's suppression list pages (ternctl suppress ...), on the
// admin thread. Changes go through the list's writer and are answered once durable (the
// admin thread waits for the writer's callback, at most kDurableWaitMax: then 503).
//   GET  /suppressions?text=&exact=1&reason=&scope=&limit=N&format=text|json|jsonl
//   POST /suppress?address=A&scope=S&reason=R&expires=SECONDS|RFC3339&event=TEXT
//   POST /unsuppress?address=A&scope=S               (404 when there is no such entry)
//   POST /suppressions/import                        the body: CSV (suppression_csv.h),
//                                                    all of it or nothing
//   GET  /suppressions/export?format=csv|jsonl&after=CURSOR&limit=N
//                                                    one page; X-Tern-Next: the next
//                                                    page's cursor (absent on the last)
//
//   SuppressionApi api(list);
//   if (auto answer = api.Handle(method, path, params, body)) return *answer;
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>

#include "absl/strings/string_view.h"
#include "net/http_query.h"
#include "net/http_response.h"
#include "suppression/suppression_list.h"

namespace tern::tools::ternd {

class SuppressionApi {
 public:
  static constexpr size_t kListLimitDefault = 1000;
  static constexpr size_t kListLimitMax = 100000;
  static constexpr size_t kExportPageDefault = 100000;
  static constexpr size_t kExportPageMax = 1000000;
  // Entries in one import request (a chunk of ternctl's file: at most 1 MiB of CSV).
  static constexpr size_t kImportEntriesMax = 100000;
  static constexpr std::chrono::seconds kDurableWaitMax{30};
  static constexpr const char* kNextHeader = "X-Tern-Next";

  // `list` may be null (every page answers 503). `clock`: unix seconds (tests).
  explicit SuppressionApi(suppression::SuppressionList* list,
                          std::function<int64_t()> clock = nullptr)
      : list_(list), clock_(std::move(clock)) {}

  // The answer when `path` is one of the pages above, else nullopt.
  std::optional<net::HttpResponse> Handle(absl::string_view method, absl::string_view path,
                                          const net::QueryParams& params,
                                          absl::string_view body) const;

 private:
  net::HttpResponse List(const net::QueryParams& params) const;
  net::HttpResponse Suppress(const net::QueryParams& params) const;
  net::HttpResponse Unsuppress(const net::QueryParams& params) const;
  net::HttpResponse Import(absl::string_view body) const;
  net::HttpResponse Export(const net::QueryParams& params) const;
  int64_t Now() const;

  suppression::SuppressionList* list_;
  std::function<int64_t()> clock_;
};

}  // namespace tern::tools::ternd
