#!/usr/bin/env bash
# Builds the Debian package build/tern_VERSION-1_ARCH.deb (VERSION from CMake's
# project(tern VERSION ...)): `cmake --install --prefix /usr --strip` into a staging root,
# then the control file (Depends from dpkg-shlibdeps), conffiles, maintainer scripts
# (deploy/debian/), man pages, copyright and changelog, and `dpkg-deb --build
# --root-owner-group`. Needs dpkg-dev; no debhelper, no root.
#
#   tools/package.sh                          configure and build build/ (RelWithDebInfo)
#   tools/package.sh --build-dir build-asan   package an existing, built tree as it is
#   tools/package.sh --out-dir /tmp/pkg      where the .deb goes (default: the build dir)
# TERN_PACKAGE_XZ_LEVEL (0-9, default 6 as dpkg-deb's) sets the xz level: the sanitizer pass's
# package test uses 1, since its unoptimized ASan binaries (110 MB stripped) take a minute of
# CPU at 6 and 4 s at 1.
# Prints the path of the .deb on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
source_dir=$(pwd)

build_dir=""
out_dir=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build-dir) build_dir=$2; shift 2 ;;
    --build-dir=*) build_dir=${1#*=}; shift ;;
    --out-dir) out_dir=$2; shift 2 ;;
    --out-dir=*) out_dir=${1#*=}; shift ;;
    *) echo "usage: tools/package.sh [--build-dir DIR] [--out-dir DIR]" >&2; exit 2 ;;
  esac
done

if [[ -z "$build_dir" ]]; then
  build_dir=build
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build_dir" --target ternd ternctl tern-bench >/dev/null
fi
# An existing tree is packaged as it is: never rebuilt here (tests may be running its
# binaries while the package test runs).
build_dir=$(cd "$build_dir" && pwd)
for program in ternd ternctl tern-bench; do
  [[ -x "$build_dir/bin/$program" ]] || {
    echo "package: $build_dir/bin/$program is not built" >&2
    exit 1
  }
done
out_dir=${out_dir:-$build_dir}

version=$(sed -n 's/^project(tern VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
[[ -n "$version" ]] || { echo "package: no project(tern VERSION ...) in CMakeLists.txt" >&2; exit 1; }
deb_version="${version}-1"
arch=$(dpkg --print-architecture)
revision=$(git -C "$source_dir" describe --always --dirty --tags 2>/dev/null || echo unknown)
maintainer="Tern maintainers <tern@example.org>"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root="$work/root"

DESTDIR="$root" cmake --install "$build_dir" --prefix /usr --strip >/dev/null
# Debian keeps configuration in /etc and units in /lib/systemd/system, not under /usr.
mv "$root/usr/etc" "$root/etc"
mkdir -p "$root/lib"
mv "$root/usr/lib/systemd" "$root/lib/systemd"

doc="$root/usr/share/doc/tern"
mkdir -p "$doc"
install -m 0644 deploy/debian/copyright "$doc/copyright"
changelog_date=$(git -C "$source_dir" log -1 --format=%aD 2>/dev/null || date -R)
cat >"$work/changelog" <<CHANGELOG
tern (${deb_version}) unstable; urgency=medium

  * Tern ${version} (source revision ${revision}).

 -- ${maintainer}  ${changelog_date}
CHANGELOG
gzip -9n -c "$work/changelog" >"$doc/changelog.Debian.gz"
gzip -9n "$doc/README.md" "$doc/SIZING.md"
find "$root/usr/share/man" -type f -name '*.[18]' -exec gzip -9n {} +

# Permissions as Debian wants them, whatever the umask was.
find "$root" -type d -exec chmod 0755 {} +
find "$root" -type f -exec chmod 0644 {} +
chmod 0755 "$root/usr/sbin/ternd" "$root/usr/bin/ternctl" "$root/usr/bin/tern-bench"

# Depends: the packages holding the shared libraries the programs link.
mkdir -p "$work/shlibs/debian"
printf 'Source: tern\n\nPackage: tern\nArchitecture: any\n' >"$work/shlibs/debian/control"
shlibs=$(cd "$work/shlibs" && dpkg-shlibdeps -O "$root/usr/sbin/ternd" "$root/usr/bin/ternctl" \
  "$root/usr/bin/tern-bench" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[[ -n "$shlibs" ]] || { echo "package: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

mkdir -p "$root/DEBIAN"
installed_kb=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<CONTROL
Package: tern
Version: ${deb_version}
Architecture: ${arch}
Maintainer: ${maintainer}
Installed-Size: ${installed_kb}
Depends: adduser, ${shlibs}
Section: mail
Priority: optional
Description: high-performance SMTP relay (io_uring, one shard per core)
 Tern receives mail over SMTP, stores it durably (acknowledged only after
 fdatasync) and delivers it to the destinations' mail exchangers, a smarthost or
 static routes, with retries, bounces, DKIM signing and TLS.
 .
 This package ships the daemon ternd (a systemd Type=notify service, not
 started until enabled), the operator's tool ternctl, the load tools
 tern-bench (source and sink), man pages, bash completion and host tuning.
CONTROL
(cd "$root" && find etc -type f | sed 's|^|/|' | sort) >"$root/DEBIAN/conffiles"
for script in postinst prerm postrm; do
  install -m 0755 "deploy/debian/$script" "$root/DEBIAN/$script"
done
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z |
  xargs -0 md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"

mkdir -p "$out_dir"
deb="$out_dir/tern_${deb_version}_${arch}.deb"
dpkg-deb --build --root-owner-group -Zxz -z"${TERN_PACKAGE_XZ_LEVEL:-6}" "$root" "$deb" >/dev/null
echo "$deb"
