#!/usr/bin/env bash
# Installs what building and testing Tern needs on Debian 12, with apt-get, only when
# something is missing (so a second run is instant). Runs apt-get through sudo when not root.
set -euo pipefail

BUILD_PACKAGES=(cmake ninja-build g++ pkg-config liburing-dev libssl-dev libjemalloc-dev
  libc-ares-dev libabsl-dev libgtest-dev googletest libbenchmark-dev
  nlohmann-json3-dev zlib1g-dev libtomlplusplus-dev libre2-dev)
# Real peers the integration tests talk to.
TEST_PACKAGES=(swaks postfix python3 python3-aiosmtpd dnsmasq-base openssl sslscan
  libnet-ssleay-perl libio-socket-ssl-perl python3-dkim python3-dnspython clang-14
  libclang-rt-14-dev chromium systemd python3-cryptography
  prometheus lintian dpkg-dev
  clang-tidy-14)  # lint.clang_tidy (tests/lint/clang_tidy.sh, the repository's .clang-tidy)

want=("${BUILD_PACKAGES[@]}")
if [[ "${1:-}" == "--with-test-tools" ]]; then
  want+=("${TEST_PACKAGES[@]}")
fi

missing=()
for pkg in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

SUDO=()
[[ $(id -u) -ne 0 ]] && SUDO=(sudo)
echo "setup: installing ${missing[*]}" >&2
"${SUDO[@]}" apt-get update -q
# Postfix is only a test peer (smtp-source, smtp-sink): install it unconfigured, so it
# neither asks questions nor starts a system mail service.
echo "postfix postfix/main_mailer_type select No configuration" | "${SUDO[@]}" debconf-set-selections
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  "${missing[@]}"
