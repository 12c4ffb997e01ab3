// What `tern-bench sink` prints: the progress line (stderr, once a second) and the summary
// at exit (stdout), as aligned text or, with --json, one JSON object:
//
//   {"mode":"sink","elapsed_seconds":10.002,"messages":30512,"recipients":30512,
//    "bytes":124977152,"msgs_per_second":3050.6,"messages_received":30512,"verified":30512,
//    "unverified":0,"checksum_mismatches":0,"connections":50,
//    "replies":{"220":50,"221":50,"250":91536,"354":30512},
//    "faults":{"tempfail":{"rcpt":3},"permfail":{},"disconnect":{},"delay":{}},
//    "record_lines_dropped":0,"seed":1234}
//
// messages, recipients and bytes count what was answered 250 at end of data; verified,
// unverified and checksum_mismatches split messages_received (every end of data, whatever
// the reply), so with faults at "dot" they add up to more than messages.
#pragma once

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "tools/tern_bench/sink_counters.h"

namespace tern::tools::tern_bench {

// "sink: 3s 10234 msgs/s total 30512 verified 30512 bad 0 conns 50": the rate over
// `interval` since `before`; bad counts checksum mismatches.
std::string FormatProgressLine(const SinkTotals& now, const SinkTotals& before,
                               absl::Duration interval, absl::Duration elapsed);

std::string FormatSummaryText(const SinkTotals& totals, absl::Duration elapsed, uint64_t seed);
std::string FormatSummaryJson(const SinkTotals& totals, absl::Duration elapsed, uint64_t seed);

}  // namespace tern::tools::tern_bench
