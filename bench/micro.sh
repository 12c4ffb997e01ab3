#!/usr/bin/env bash
# Runs Tern's Google Benchmark micro-benchmarks in one go: JSON string escaping (core_bench),
# the SMTP parser and session
# (smtp_session_bench), the spool's record codec, group commit and reads (spool_bench) and
# the shared throttle cells and the shaping policy's Resolve (queue_bench), DKIM's body hash
# and signature against bare SHA-256 and RSA (delivery_bench), the suppression list at 10M
# entries (suppression_bench: ~1 GiB of memory, a minute).
# Builds them first in build/ (Release flags of the project: RelWithDebInfo).
#
#   bench/micro.sh                       # everything
#   bench/micro.sh --benchmark_filter=GroupCommit   # any Google Benchmark flag is passed on
set -euo pipefail
readonly REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cmake -S "$REPO" -B "$REPO/build" -G Ninja -DTERN_BENCHMARKS=ON >/dev/null
ninja -C "$REPO/build" core_bench smtp_session_bench spool_bench queue_bench delivery_bench \
  suppression_bench >/dev/null
# The group-commit benchmark writes and fdatasyncs real files: under build/, on the real disk.
cd "$REPO/build"
for bench in core_bench smtp_session_bench spool_bench queue_bench delivery_bench \
  suppression_bench; do
  echo "== $bench"
  "$REPO/build/bin/$bench" "$@"
done
