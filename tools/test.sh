#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to every test: installs what is missing (build
# dependencies and the real peers the integration tests use), then two passes:
#   release (build/, gcc): everything but the unit tests, which it does not build
#     (tools/build.sh --no-unit-tests): integration (io_uring and epoll), layering, lint,
#     memory, and the allocation-counting unit test the sanitizers rule out; the benchmarks
#     are built;
#   sanitizer (build-asan/, clang-14, ASan+UBSan): the unit tests, integration and layering
#     again, and the libFuzzer targets built in the same tree, 10 s each (fuzz.<name>).
# TERN_SKIP_SANITIZE=1 skips the sanitizer pass, and the release pass then runs the unit tests.
# A test that fails is run once more (tools/ctest_retry.sh); its first failure stays in the
# log, and every test that needed the second run is listed as `FLAKY: name` at the end: each
# is a bug to fix.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup-debian.sh --with-test-tools
report=$(mktemp -d)
trap 'rm -rf "$report"' EXIT
status=0
passed=0
failed=0

# run_pass LABEL DIR TIMEOUT_S: one CTest pass with its retry; adds to the counts.
run_pass() {
  local label=$1 dir=$2 timeout=$3 rc=0
  tools/ctest_retry.sh "$dir" "$timeout" "$report/flaky-$label" "$report/counts" || rc=$?
  read -r p f <"$report/counts"
  passed=$((passed + p))
  failed=$((failed + f))
  [[ $rc -eq 0 ]] || status=1
}

# Line tables only (-g1): file:line in every backtrace and sanitizer report, and 15-25%
# less compile CPU than full debug information; the code is the same.
skip_sanitize=${TERN_SKIP_SANITIZE:-0}
if [[ $skip_sanitize == 1 ]]; then
  tools/build.sh --line-tables-only
else
  tools/build.sh --line-tables-only --no-unit-tests
fi
run_pass release build 600
if [[ $skip_sanitize != 1 ]]; then
  tools/build.sh --sanitize --line-tables-only
  run_pass asan build-asan 900
fi

echo
for label in release asan; do
  if [[ -s $report/flaky-$label ]]; then
    while read -r name; do echo "FLAKY: $name ($label build: failed once, passed on the retry)"; done \
      <"$report/flaky-$label"
  fi
done
echo "tern: $passed passed, $failed failed"
exit "$status"
