#!/usr/bin/env python3
"""Proves that a layering violation fails to build (CTest: layering.include_paths).

Each library sees only its own folder's headers and those of the libraries it links
(cmake/layers.cmake). For each case below, a one-line probe source `#include "HEADER"` is
compiled with the exact command line of one of the library's own sources (taken from
compile_commands.json, so with that library's include paths and flags):
  - an allowed header (the library's own, or a lower layer's) must compile, so that the
    check cannot pass because the command line is broken;
  - a higher layer's header must fail with "HEADER: No such file or directory" (gcc) or
    "'HEADER' file not found" (clang), and nothing else.

Usage: check_include_paths.py BUILD_DIR
"""
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile

# (library, header, allowed)
CASES = [
    ("tern_core", "core/check.h", True),
    ("tern_core", "delivery/lane.h", False),
    ("tern_core", "net/transport.h", False),
    ("tern_core", "spool/record_codec.h", False),
    ("tern_spool", "spool/record_codec.h", True),
    ("tern_spool", "queue/scheduled_queue.h", False),
    ("tern_spool", "net/smtp/session.h", False),
    ("tern_smtp", "net/smtp/session.h", True),
    ("tern_smtp", "net/listen_socket.h", False),
    ("tern_smtp", "spool/shard_spool.h", False),
    ("tern_tls", "net/transport.h", True),
    ("tern_tls", "net/smtp_connection.h", False),
    ("tern_dns", "net/dns/resolver.h", True),
    ("tern_dns", "net/smtp/session.h", False),
    ("tern_queue", "queue/throttle_cell.h", True),
    ("tern_queue", "delivery/lane.h", False),
    ("tern_net", "net/listen_socket.h", True),
    ("tern_net", "net/dns/resolver.h", False),
    ("tern_net", "engine/io_engine.h", False),
    ("tern_delivery", "delivery/lane.h", True),
    ("tern_delivery", "engine/io_engine.h", False),
    ("tern_delivery", "tools/ternd/shard.h", False),
    ("tern_engine_uring", "engine/uring/uring_loop.h", True),
    ("tern_engine_uring", "delivery/lane.h", False),
    ("tern_suppression", "suppression/suppression_index.h", True),
    ("tern_suppression", "core/json_writer.h", True),
    ("tern_suppression", "spool/record_codec.h", False),
    ("tern_suppression", "net/smtp/session.h", False),
    ("tern_suppression", "delivery/lane.h", False),
    ("tern_events", "events/event_journal.h", True),
    ("tern_events", "core/json_writer.h", True),
    ("tern_events", "spool/record_codec.h", False),
    ("tern_events", "delivery/lane.h", False),
    ("tern_events", "net/transport.h", False),
    ("tern_inject", "inject/injection_plan.h", True),
    ("tern_inject", "net/smtp/address.h", True),
    ("tern_inject", "net/listen_socket.h", False),
    ("tern_inject", "spool/shard_spool.h", False),
    ("tern_inject", "queue/scheduled_queue.h", False),
]

# Flags of the original command that name its own source, object or dependency file.
DROP_WITH_VALUE = {"-o", "-c", "-MF", "-MT", "-MQ"}
DROP = {"-MD", "-MMD"}


def command_of(entries, library):
    """The argument list of one of `library`'s own sources, without its output and source."""
    for entry in entries:
        arguments = entry.get("arguments") or shlex.split(entry["command"])
        if any(re.search(rf"CMakeFiles/{re.escape(library)}\.dir/", a) for a in arguments):
            compiler = [a for a in arguments if not a.endswith("ccache")]
            kept = []
            skip = False
            for argument in compiler:
                if skip:
                    skip = False
                    continue
                if argument in DROP_WITH_VALUE:
                    skip = True
                    continue
                if argument in DROP or argument == entry["file"]:
                    continue
                kept.append(argument)
            return kept, entry["directory"]
    return None, None


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with open(os.path.join(sys.argv[1], "compile_commands.json"), encoding="utf-8") as db:
        entries = json.load(db)
    failures = 0
    with tempfile.TemporaryDirectory(prefix="tern-layering-") as scratch:
        for number, (library, header, allowed) in enumerate(CASES):
            command, directory = command_of(entries, library)
            if command is None:
                print(f"FAIL {library}: no source of it in compile_commands.json")
                failures += 1
                continue
            probe = os.path.join(scratch, f"probe_{number}.cc")
            with open(probe, "w", encoding="utf-8") as source:
                source.write(f'#include "{header}"\n')
            done = subprocess.run(command + ["-fsyntax-only", probe], cwd=directory,
                                  capture_output=True, text=True, timeout=120)
            # gcc's wording, then clang's (build-asan/ is built by clang).
            missing = (f"{header}: No such file or directory" in done.stderr or
                       f"'{header}' file not found" in done.stderr)
            if allowed and done.returncode == 0:
                print(f"ok   {library} may include {header}")
            elif not allowed and done.returncode != 0 and missing:
                print(f"ok   {library} cannot include {header}")
            else:
                failures += 1
                expected = "compiles" if allowed else "fails: header not found"
                print(f"FAIL {library} including {header}: expected {expected}, "
                      f"exit {done.returncode}\n{done.stderr[-2000:]}")
    if failures:
        print(f"{failures} of {len(CASES)} layering probes failed")
        return 1
    print(f"{len(CASES)} layering probes as expected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
