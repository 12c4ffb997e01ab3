// QueueShape: the queue as Postfix's qshape draws it, for `ternctl qshape` (GET /qshape):
// one row per destination domain, columns of message age in minutes (T = all, then
// "5" = under 5 minutes, "10" = 5 to 10, ... "1280", "1280+" = older), each cell the number
// of messages with a recipient left at that domain (a message to two domains counts in
// both rows; the TOTAL row counts it once), as qshape counts messages by default.
//
// Each shard counts its own index (ShapeQueue in queue_operations.h) and sends at most
// kRowsPerShardMax rows, the largest; the admin thread merges them and keeps the top N.
//
//   QueueShape shape;
//   shape.Add({"example.com", "example.net"}, age);         // per message, on a shard
//   shape.Truncate(QueueShape::kRowsPerShardMax);
//   merged.Merge(shape);  merged.Truncate(20);  ShapeText(merged);
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"

namespace tern::queue {

class QueueShape {
 public:
  // Upper bounds of the age buckets, in minutes; one more bucket holds the older.
  static constexpr std::array<int, 9> kBucketMinutes = {5, 10, 20, 40, 80, 160, 320, 640, 1280};
  static constexpr size_t kBuckets = kBucketMinutes.size() + 1;
  static constexpr size_t kRowsPerShardMax = 1000;
  using Counts = std::array<uint64_t, kBuckets>;

  struct Row {
    std::string domain;  // lower case; "(other)": rows dropped by Truncate
    uint64_t total = 0;
    Counts counts{};
  };

  static size_t BucketOf(absl::Duration age);

  // One message of `age` with recipients left at `domains` (lower case, each once).
  void Add(const std::vector<std::string>& domains, absl::Duration age);
  void Merge(const QueueShape& other);
  // Keeps the `rows_max` rows with the most messages (ties: by domain), the rest summed
  // into one "(other)" row.
  void Truncate(size_t rows_max);

  // Largest first (ties: by domain), "(other)" last.
  std::vector<Row> Rows() const;
  const Row& total() const { return total_; }

 private:
  absl::flat_hash_map<std::string, Row> rows_;
  Row total_{.domain = "TOTAL"};
};

inline constexpr const char* kShapeOtherDomain = "(other)";

// Aligned like qshape's output: a header line of T and the bucket bounds, TOTAL, then rows.
std::string ShapeText(const QueueShape& shape);
// {"unit":"messages","buckets":["5",..,"1280+"],"total":{..},"domains":[{"domain":..,
// "total":N,"counts":[..]},..]}
std::string ShapeJson(const QueueShape& shape);
// JSON Lines: the TOTAL row, then one row per domain ({"domain":..,"total":N,"counts":[..]}).
std::string ShapeJsonLines(const QueueShape& shape);

}  // namespace tern::queue
