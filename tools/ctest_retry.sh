#!/usr/bin/env bash
# Runs all of CTest in build directory DIR, then once more only the tests that failed. A
# test that passes on the second try is flaky: its name is appended to FLAKY_FILE (one per
# line) and tools/test.sh lists it as `FLAKY: name` at the end of the log. A flaky test is a
# bug to fix; the retry only covers genuinely external noise and never turns a test that
# fails twice into a pass. Writes "PASSED FAILED" (counted after the retry) to COUNTS_FILE.
#   tools/ctest_retry.sh DIR TIMEOUT_S FLAKY_FILE COUNTS_FILE
set -uo pipefail
dir=$1 timeout=$2 flaky_file=$3 counts_file=$4
jobs=$(nproc)
cd "$dir"
failed_log=Testing/Temporary/LastTestsFailed.log
rm -f "$failed_log"
ctest --output-on-failure -j"$jobs" --timeout "$timeout"
first=$?
total=$(ctest -N | sed -n 's/^Total Tests: \([0-9]*\)$/\1/p')
if [[ $first -eq 0 ]]; then
  echo "$total 0" >"$counts_file"
  exit 0
fi
if [[ ! -s $failed_log ]]; then
  echo "ctest_retry: ctest failed (exit $first) without a list of failed tests" >&2
  echo "0 $total" >"$counts_file"
  exit "$first"
fi
# LastTestsFailed.log: "NUMBER:NAME" per line. --rerun-failed rewrites it only when a test
# fails again (a clean rerun leaves the old list), so the rerun's exit code decides.
mapfile -t first_failures < <(cut -d: -f2- "$failed_log")
echo "ctest_retry: ${#first_failures[@]} test(s) failed, running them once more:" \
  "${first_failures[*]}"
ctest --output-on-failure -j"$jobs" --timeout "$timeout" --rerun-failed
second=$?
still_failing=()
if [[ $second -ne 0 ]]; then
  mapfile -t still_failing < <(cut -d: -f2- "$failed_log")
fi
for name in "${first_failures[@]}"; do
  if [[ ${#still_failing[@]} -eq 0 ]] || ! printf '%s\n' "${still_failing[@]}" | grep -qxF -- "$name"; then
    echo "$name" >>"$flaky_file"
  fi
done
echo "$((total - ${#still_failing[@]})) ${#still_failing[@]}" >"$counts_file"
exit "$second"
