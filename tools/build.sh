#!/usr/bin/env bash
# Configures and builds Tern into build/ (or build-asan/ with --sanitize: ASan + UBSan).
# --line-tables-only: debug information limited to line tables (-g1, TERN_LINE_TABLES_ONLY),
# as tools/test.sh builds: backtraces and sanitizer reports keep their file:line, and the
# build takes 15-25% less CPU. The choice stays in the build tree's CMake cache.
#
#   tools/build.sh [--sanitize] [--line-tables-only]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=build
args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
for arg in "$@"; do
  case "$arg" in
    --sanitize)
      dir=build-asan
      args=(-DCMAKE_BUILD_TYPE=Debug -DTERN_SANITIZE=ON -DTERN_BENCHMARKS=OFF)
      ;;
    --line-tables-only) line_tables=1 ;;
    *) echo "usage: tools/build.sh [--sanitize] [--line-tables-only]" >&2; exit 2 ;;
  esac
done
if [[ -n "${line_tables:-}" ]]; then
  args+=(-DTERN_LINE_TABLES_ONLY=ON)
fi
cmake -S . -B "$dir" -G Ninja "${args[@]}" >/dev/null
ninja -C "$dir"
