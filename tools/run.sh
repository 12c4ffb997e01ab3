#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a running relay: installs what is missing,
# builds, and starts ternd with its built-in defaults (SMTP on 127.0.0.1:2525, admin on
# 127.0.0.1:9025, spool under ./var/spool). Extra arguments go to ternd.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup-debian.sh
tools/build.sh
exec build/bin/ternd "$@"
