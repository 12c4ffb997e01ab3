#!/usr/bin/env bash
# Runs clang-tidy-14 with the repository's .clang-tidy (warnings are errors) over the sources
# in BUILD_DIR/compile_commands.json whose path (relative to SOURCE_DIR) matches PATH_REGEX
# (default: all), two at a time. Exits non-zero on any finding. Generated sources (under
# the build tree) and the fuzz targets (not in this build) are not checked.
#
#   tests/lint/clang_tidy.sh . build                     # the whole tree (41 min, 2 loaded cores)
#   tests/lint/clang_tidy.sh . build '^(core|engine|spool)/'  # lint.clang_tidy's share
set -euo pipefail
source_dir=$(cd "$1" && pwd)
build_dir=$(cd "$2" && pwd)
path_regex=${3:-.}
if ! command -v clang-tidy-14 >/dev/null; then
  echo "clang_tidy: clang-tidy-14 is not installed (tools/setup-debian.sh installs it)" >&2
  exit 1
fi
mapfile -t files < <(python3 - "$build_dir/compile_commands.json" "$source_dir" \
  "$build_dir" "$path_regex" <<'PYTHON'
import json, os, re, sys
database, source_dir, build_dir, path_regex = sys.argv[1:]
files = set()
for entry in json.load(open(database)):
    path = os.path.normpath(os.path.join(entry["directory"], entry["file"]))
    if path.startswith(build_dir + os.sep) or not path.startswith(source_dir + os.sep):
        continue
    relative = os.path.relpath(path, source_dir)
    if re.search(path_regex, relative):
        files.add(relative)
print("\n".join(sorted(files)))
PYTHON
)
if [[ ${#files[@]} -eq 0 ]]; then
  echo "clang_tidy: no source matches '$path_regex' in $build_dir/compile_commands.json" >&2
  exit 1
fi
cd "$source_dir"
start=$(date +%s)
# clang-tidy's own counts of what it suppressed (system headers) are noise.
noise='^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$'
noise+='|^Suppressed [0-9]+ warnings|^Use -header-filter='
set +e
printf '%s\n' "${files[@]}" |
  xargs -P2 -n1 clang-tidy-14 -p "$build_dir" --quiet 2>&1 |
  grep -vE "$noise"
statuses=("${PIPESTATUS[@]}")
set -e
status=${statuses[1]}
echo "clang_tidy: ${#files[@]} sources in $(($(date +%s) - start)) s:" \
  "$([[ $status -eq 0 ]] && echo clean || echo 'findings above (warnings are errors)')"
exit "$status"
