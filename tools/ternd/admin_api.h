// AdminApi: what ternd's admin endpoint answers (runs on the admin thread).
//   GET /metrics                 Prometheus text format, per shard
//   GET /queue[?limit=N]         the queued messages as JSON lines wrapped in an object
//   GET /queue?format=text       the same as aligned text (what `ternctl queue` prints)
//   GET /healthz                 "ok"
#pragma once

#include <memory>
#include <vector>

#include "absl/strings/string_view.h"
#include "net/admin_server.h"
#include "tools/ternd/shard.h"

namespace tern::ternd {

class AdminApi {
 public:
  static constexpr size_t kQueueRowsDefault = 10000;
  explicit AdminApi(const std::vector<std::unique_ptr<Shard>>* shards) : shards_(shards) {}
  net::HttpResponse Handle(absl::string_view target);

 private:
  std::string Metrics() const;
  net::HttpResponse Queue(absl::string_view query) const;

  const std::vector<std::unique_ptr<Shard>>* shards_;
};

}  // namespace tern::ternd
