#!/usr/bin/env bash
# Builds Tern's libFuzzer targets with clang, ASan and UBSan into build-fuzz/ (-O1, only the
# fuzzers and what they link) and runs each for a bounded time (SECONDS_PER_TARGET, default 15)
# from its seed corpus in tests/fuzz/corpus/<name>/ (new inputs go to DIR/corpus/<name>/, the
# repository's seeds are not changed). Exits non-zero on the first crash, leak, UB or timeout,
# leaving the reproducer (crash-*, leak-*, timeout-*) in DIR/artifacts/.
#
#   tools/fuzz.sh                      # every target, 15 s each
#   tools/fuzz.sh 60 address sasl      # 60 s each, only these
#   tools/fuzz.sh --build-only         # only configure and build build-fuzz/
#   tools/fuzz.sh --no-build 10 sasl   # only run (build-fuzz/ is already built)
#   tools/fuzz.sh --no-build --dir build-asan 10 sasl   # run the fuzzers of another tree
# --dir DIR: the build tree (default build-fuzz). The sanitizer tree (tools/build.sh --sanitize,
# build-asan/, clang) builds the fuzzers with everything else, and CTest's sanitizer pass runs
# each as its own test (fuzz.<name>: --no-build --dir build-asan, 10 s, one core each).
set -euo pipefail
cd "$(dirname "$0")/.."
build=1
run=1
dir=build-fuzz
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build-only) run=0; shift ;;
    --no-build) build=0; shift ;;
    --dir) dir=$2; shift 2 ;;
    *) break ;;
  esac
done
seconds=${1:-${SECONDS_PER_TARGET:-15}}
shift || true
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  targets=(smtp_session smtp_client_reply address sasl dkim_canonicalization spool_record
    http_request_head delivery_log_report json_writer dns_answer shaping_state shaping_policy
    bounce_rules suppression_csv suppression_journal http_response inject_request)
fi
if [[ $build -eq 1 ]]; then
  # -O1: libFuzzer's usual level, and a quicker build than -O2. A sanitizer tree built by clang
  # builds the fuzzers (CMakeLists.txt); the unit tests are left out of this one.
  CC=clang-14 CXX=clang++-14 cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=None \
    -DCMAKE_CXX_FLAGS="-O1 -g" -DTERN_SANITIZE=ON -DTERN_TESTS=ON -DTERN_UNIT_TESTS=OFF \
    -DTERN_BENCHMARKS=OFF >/dev/null
  ninja -C "$dir" fuzzers
fi
[[ $run -eq 1 ]] || exit 0
mkdir -p "$dir/artifacts"
for name in "${targets[@]}"; do
  corpus=$dir/corpus/$name
  mkdir -p "$corpus"
  echo "fuzz: $name for ${seconds}s" >&2
  # -timeout: one input may take at most 10 s; -rss_limit_mb bounds memory growth.
  "$dir/bin/${name}_fuzz" -max_total_time="$seconds" -max_len=8192 -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$dir/artifacts/" \
    "$corpus" "tests/fuzz/corpus/$name" 2>&1 | tail -n 12
  [[ ${PIPESTATUS[0]} -eq 0 ]] || { echo "fuzz: $name FAILED" >&2; exit 1; }
done
echo "fuzz: ${#targets[@]} targets, ${seconds}s each, no finding" >&2
