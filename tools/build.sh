#!/usr/bin/env bash
# Configures and builds Tern into build/ (or build-asan/ with --sanitize: ASan + UBSan).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=build
args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
if [[ "${1:-}" == "--sanitize" ]]; then
  dir=build-asan
  args=(-DCMAKE_BUILD_TYPE=Debug -DTERN_SANITIZE=ON -DTERN_BENCHMARKS=OFF)
fi
cmake -S . -B "$dir" -G Ninja "${args[@]}" >/dev/null
ninja -C "$dir"
