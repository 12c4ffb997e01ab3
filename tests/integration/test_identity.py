"""Every program says who it is and what it takes: `--version` prints
"PROGRAM VERSION (revision R, TYPE build)" with the project version from CMake
($TERN_EXPECTED_VERSION, set by tests/integration/CMakeLists.txt) and exits 0; `--help`
lists the program's own flags (ternd's from tools/ternd/flags.cc, tern-bench's per mode)
and none of abseil's internals."""

import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternd_harness as h  # noqa: E402

EXPECTED_VERSION = os.environ.get("TERN_EXPECTED_VERSION", "")
# Flags abseil defines in its own files: --help must not list them (--helpfull does).
ABSEIL_INTERNALS = ("--fromenv", "--tryfromenv", "--undefok",
                    "absl/flags")


class IdentityTest(unittest.TestCase):
    def version(self, *command):
        done = h.run_tool(list(command) + ["--version"])
        out = done.stdout.decode()
        self.assertEqual(done.returncode, 0, out + done.stderr.decode())
        return out

    def help(self, *command):
        done = h.run_tool(list(command) + ["--help"])
        out = done.stdout.decode() + done.stderr.decode()
        # abseil exits 1 after --help (it is not a run); anything else is a crash.
        self.assertIn(done.returncode, (0, 1), out)
        for internal in ABSEIL_INTERNALS:
            self.assertNotIn(internal, out, f"--help of {command} lists abseil's {internal}")
        return out

    def assertVersionLine(self, out, program):
        self.assertTrue(EXPECTED_VERSION, "TERN_EXPECTED_VERSION is not set")
        self.assertRegex(out.strip(), rf"^{re.escape(program)} {re.escape(EXPECTED_VERSION)} "
                                      r"\(revision [0-9a-zA-Z.+_-]+, [A-Za-z]+ build\)$")

    def test_versions(self):
        self.assertVersionLine(self.version(h.TERND), "ternd")
        self.assertVersionLine(self.version(h.TERNCTL), "ternctl")
        self.assertVersionLine(self.version(h.TERN_BENCH), "tern-bench")
        self.assertVersionLine(self.version(h.TERN_BENCH, "source"), "tern-bench")
        self.assertVersionLine(self.version(h.TERN_BENCH, "sink"), "tern-bench")
        if h.TERND_FAULTS:
            self.assertVersionLine(self.version(h.TERND_FAULTS), "ternd-faults")

    def test_ternd_help_lists_its_own_flags(self):
        out = self.help(h.TERND)
        for flag in ("--listen", "--admin_listen", "--spool_dir", "--check_config", "--route"):
            self.assertIn(flag, out)
        self.assertIn("tools/ternd/flags.cc", out)
        self.assertNotIn("--fault_sync_fail_at", out)
        self.assertNotIn("No flags matched", out)

    def test_ternd_faults_help_adds_its_fault_flags(self):
        if not h.TERND_FAULTS:
            self.skipTest("no --ternd_faults given")
        out = self.help(h.TERND_FAULTS)
        self.assertIn("--listen", out)
        self.assertIn("--fault_sync_fail_at", out)

    def test_ternctl_help_lists_commands_and_flags(self):
        out = self.help(h.TERNCTL)
        for text in ("queue", "show ID", "passwd", "--admin", "--json", "--domain", "--limit"):
            self.assertIn(text, out)
        self.assertNotIn("--listen", out)

    def test_tern_bench_help_per_mode(self):
        everything = self.help(h.TERN_BENCH)
        source = self.help(h.TERN_BENCH, "source")
        sink = self.help(h.TERN_BENCH, "sink")
        for out in (everything, source):
            self.assertIn("--target", out)
            self.assertIn("--connections", out)
        self.assertIn("--tempfail_rate", everything)
        self.assertIn("--tempfail_rate", sink)
        self.assertNotIn("--tempfail_rate", source)
        self.assertNotIn("--target", sink)

    def test_unknown_mode_is_refused(self):
        done = h.run_tool([h.TERN_BENCH, "nonsense"])
        self.assertEqual(done.returncode, 2)
        self.assertIn("tern-bench MODE", done.stderr.decode())


if __name__ == "__main__":
    h.main()
