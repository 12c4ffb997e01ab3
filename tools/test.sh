#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to every test: installs what is missing (build
# dependencies and the real peers the integration tests use), builds, runs all of CTest,
# then builds with ASan+UBSan and runs CTest again under the sanitizers. A test that fails is
# run once more before the run fails (--repeat until-pass:2); its first failure stays in the log.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup-debian.sh --with-test-tools
jobs=$(nproc)
tools/build.sh
(cd build && ctest --output-on-failure -j"$jobs" --timeout 600 --repeat until-pass:2)
if [[ "${TERN_SKIP_SANITIZE:-0}" != "1" ]]; then
  tools/build.sh --sanitize
  (cd build-asan && ctest --output-on-failure -j"$jobs" --timeout 900 --repeat until-pass:2)
fi
