#!/usr/bin/env python3
"""Namespaces follow folders: fails when a C++ file declares a namespace its folder does not own.

The rule (CTest: layering.namespaces):
  - A file in folder a/b/ declares its code in namespace tern::a::b; a file in a top-level
    folder a/ in tern::a (core/log.h: tern::core; net/smtp/session.h: tern::net::smtp;
    engine/uring/uring_loop.h: tern::engine::uring; tools/ternd/shard.h: tern::tools::ternd).
  - Nested namespaces below the folder's own are allowed (tern::spool::crc32c in spool/,
    tern::net::tls::testing in tests/net/tls/), and so are anonymous namespaces.
  - tests/ and bench/ mirror the tree: tests/net/smtp/ is tern::net::smtp, tests/tools/ is
    tern::tools (and so may hold tern::tools::ternd). bench/ names a layer by its last folder
    where the layer is nested: bench/smtp/ measures net/smtp/ (tern::net::smtp).
  - Every tern namespace is written whole on one line (`namespace tern::a::b {`, never
    `namespace tern {` then `namespace a {`), so that this check sees it.
  - Other top-level namespaces are allowed only for forward declarations of the third-party
    libraries in THIRD_PARTY (queue/reply_rule_matcher.h: namespace re2 { class RE2; }).

Usage: check_namespaces.py SOURCE_DIR   (exit 1 and one line per mismatch)
"""
import os
import re
import sys

FOLDERS = ("bench", "core", "delivery", "engine", "events", "inject", "net", "queue", "spool",
           "suppression", "tests", "tools")
# bench/<name>/ measures this folder of the tree.
BENCH_LAYERS = {"smtp": "net/smtp"}
THIRD_PARTY = {"re2"}
NAMESPACE = re.compile(r"^\s*namespace\s+([A-Za-z_][A-Za-z0-9_:]*)\s*\{")


def expected_namespace(folder):
    """tern::a::b for folder a/b (tests/ and bench/ stripped: they mirror the tree)."""
    parts = folder.split("/")
    if parts[0] == "tests" and len(parts) > 1:
        parts = parts[1:]
    elif parts[0] == "bench" and len(parts) > 1:
        parts = BENCH_LAYERS.get(parts[1], parts[1]).split("/") + parts[2:]
    return "tern::" + "::".join(parts)


def check_file(path, folder):
    expected = expected_namespace(folder)
    problems = []
    with open(path, encoding="utf-8") as source:
        for number, line in enumerate(source, 1):
            match = NAMESPACE.match(line)
            if not match:
                continue
            name = match.group(1)
            if name == expected or name.startswith(expected + "::"):
                continue
            if name.split("::")[0] in THIRD_PARTY:
                continue
            if not line.startswith("namespace") and not name.startswith("tern"):
                continue  # nested inside the file's own namespace
            problems.append(f"{path}:{number}: namespace {name} in {folder}/ (expected {expected})")
    return problems


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    os.chdir(sys.argv[1])
    problems = []
    checked = 0
    for top in FOLDERS:
        for directory, subdirs, names in os.walk(top):
            subdirs.sort()
            for name in sorted(names):
                if name.endswith((".h", ".cc")):
                    checked += 1
                    problems += check_file(os.path.join(directory, name), directory)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} namespace(s) do not follow their folder "
              f"(rule: tests/layering/check_namespaces.py)")
        return 1
    if checked == 0:
        print("no source files found: wrong SOURCE_DIR?")
        return 1
    print(f"{checked} files: every namespace follows its folder")
    return 0


if __name__ == "__main__":
    sys.exit(main())
