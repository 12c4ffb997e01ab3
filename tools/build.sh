#!/usr/bin/env bash
# Configures and builds Tern into build/ (RelWithDebInfo, gcc), or with --sanitize into
# build-asan/ (Debug, clang-14, ASan + UBSan; the libFuzzer targets are built in the same tree
# and registered as CTest's fuzz.<name>).
# --line-tables-only: debug information limited to line tables (-g1, TERN_LINE_TABLES_ONLY),
# as tools/test.sh builds: backtraces and sanitizer reports keep their file:line, and the
# build takes 15-25% less CPU. The choice stays in the build tree's CMake cache.
# --no-unit-tests: the GoogleTest unit tests are neither built nor registered
# (TERN_UNIT_TESTS=OFF); integration, layering, lint and memory tests still are. tools/test.sh's
# release pass builds so, since its sanitizer pass runs the unit tests. Every run passes
# TERN_UNIT_TESTS explicitly, so a later build without the flag has them again.
#
#   tools/build.sh [--sanitize] [--line-tables-only] [--no-unit-tests]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=build
args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
unit_tests=ON
for arg in "$@"; do
  case "$arg" in
    --sanitize)
      dir=build-asan
      args=(-DCMAKE_BUILD_TYPE=Debug -DTERN_SANITIZE=ON -DTERN_BENCHMARKS=OFF)
      ;;
    --line-tables-only) line_tables=1 ;;
    --no-unit-tests) unit_tests=OFF ;;
    *)
      echo "usage: tools/build.sh [--sanitize] [--line-tables-only] [--no-unit-tests]" >&2
      exit 2
      ;;
  esac
done
args+=(-DTERN_UNIT_TESTS="$unit_tests")
if [[ -n "${line_tables:-}" ]]; then
  args+=(-DTERN_LINE_TABLES_ONLY=ON)
fi
if [[ $dir == build-asan ]]; then
  # clang: a third quicker to compile than gcc under the sanitizers, and libFuzzer's compiler.
  # CMake keeps a tree's compiler in its cache: a build-asan/ configured by another one (gcc,
  # before) is configured afresh.
  if [[ -f $dir/CMakeCache.txt ]] &&
    ! grep -q '^CMAKE_CXX_COMPILER:[A-Z]*=.*clang++-14$' "$dir/CMakeCache.txt"; then
    echo "build.sh: $dir/ was configured with another compiler, configuring it with clang++-14" >&2
    rm -rf "$dir/CMakeCache.txt" "$dir/CMakeFiles"
  fi
  export CC=clang-14 CXX=clang++-14
fi
cmake -S . -B "$dir" -G Ninja "${args[@]}" >/dev/null
ninja -C "$dir"
