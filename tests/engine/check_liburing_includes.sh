#!/bin/sh
# Fails when a source outside engine/uring/ (and the engine's own tests) includes
# <liburing.h> or calls io_uring_*: the I/O engine is a plug (engine/io_engine.h).
# Usage: check_liburing_includes.sh SOURCE_DIR
set -eu
cd "$1"
found=$(grep -rlE '#include <liburing|io_uring_[a-z_]+\(' \
  --include='*.h' --include='*.cc' \
  core net spool queue delivery tools bench engine tests \
  | grep -v '^engine/uring/' | grep -v '^tests/engine/uring_' || true)
if [ -n "$found" ]; then
  echo "liburing used outside engine/uring/:"
  echo "$found"
  exit 1
fi
echo "liburing only in engine/uring/"
