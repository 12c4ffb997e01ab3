"""tools/package.sh builds a Debian package from the build tree under test (no second
build): its control file, conffiles and maintainer scripts are what an operator needs,
lintian finds no error in it, and the programs it installs (unpacked with dpkg -x into a
scratch root) run: `ternd --version` and `ternd --check_config` with a flagfile that keeps
everything in the scratch directory. Skipped only when dpkg-deb is missing."""

import gzip
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternd_harness as h  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACKAGE_SH = os.path.join(REPO, "tools", "package.sh")
EXPECTED_VERSION = os.environ.get("TERN_EXPECTED_VERSION", "")
PACKAGE_TIMEOUT_S = 300  # package.sh rebuilds nothing when the tree is up to date
LINTIAN_TIMEOUT_S = 300


def build_dir_of(binary):
    """The build tree a program was built in (BUILD/bin/ternd -> BUILD)."""
    return os.path.dirname(os.path.dirname(os.path.abspath(binary)))


class PackageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if shutil.which("dpkg-deb") is None:
            raise unittest.SkipTest("dpkg-deb is not installed (tools/setup-debian.sh "
                                    "--with-test-tools installs dpkg-dev)")
        cls.work = tempfile.mkdtemp(prefix="tern-package-")
        done = h.run_tool([PACKAGE_SH, "--build-dir", build_dir_of(h.TERND),
                           "--out-dir", cls.work], timeout_s=PACKAGE_TIMEOUT_S)
        if done.returncode != 0:
            shutil.rmtree(cls.work, ignore_errors=True)
            raise AssertionError("tools/package.sh failed:\n" + done.stderr.decode())
        cls.deb = done.stdout.decode().strip().splitlines()[-1]
        cls.root = os.path.join(cls.work, "root")
        subprocess.run(["dpkg-deb", "-x", cls.deb, cls.root], check=True, timeout=60)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work, ignore_errors=True)

    def dpkg_field(self, field):
        return subprocess.run(["dpkg-deb", "-f", self.deb, field], capture_output=True,
                              check=True, timeout=60).stdout.decode().strip()

    def control_file(self, name):
        return subprocess.run(["dpkg-deb", "-I", self.deb, name], capture_output=True,
                              check=True, timeout=60).stdout.decode()

    def test_name_version_and_dependencies(self):
        self.assertEqual(os.path.basename(self.deb),
                         f"tern_{EXPECTED_VERSION}-1_{self.dpkg_field('Architecture')}.deb")
        self.assertEqual(self.dpkg_field("Package"), "tern")
        self.assertEqual(self.dpkg_field("Version"), f"{EXPECTED_VERSION}-1")
        depends = self.dpkg_field("Depends")
        # From dpkg-shlibdeps: what the binaries link (jemalloc only outside the sanitizers).
        for package in ("adduser", "libc6", "liburing2", "libssl3", "libc-ares2", "libstdc++6",
                        "libabsl20220623"):
            self.assertIn(package, depends)

    def test_files_in_place(self):
        for path in ("usr/sbin/ternd", "usr/bin/ternctl", "usr/bin/tern-bench"):
            self.assertTrue(os.access(os.path.join(self.root, path), os.X_OK), path)
        for path in ("usr/share/man/man8/ternd.8.gz", "usr/share/man/man1/ternctl.1.gz",
                     "usr/share/man/man1/tern-bench.1.gz",
                     "usr/share/bash-completion/completions/ternctl",
                     "usr/share/bash-completion/completions/ternd",
                     "lib/systemd/system/ternd.service", "etc/tern/ternd.flags",
                     "etc/logrotate.d/tern", "etc/security/limits.d/tern.conf",
                     "usr/lib/sysctl.d/60-tern.conf", "usr/share/doc/tern/copyright",
                     "usr/share/doc/tern/changelog.Debian.gz"):
            self.assertTrue(os.path.isfile(os.path.join(self.root, path)), path)
        # No tests, benchmarks or fuzzers.
        names = [n for _, _, files in os.walk(self.root) for n in files]
        self.assertFalse([n for n in names if "test" in n or "fuzz" in n or "faults" in n],
                         names)
        with open(os.path.join(self.root, "lib/systemd/system/ternd.service")) as f:
            unit = f.read()
        self.assertIn("ExecStart=/usr/sbin/ternd --flagfile=/etc/tern/ternd.flags", unit)
        self.assertIn("Type=notify", unit)
        # Every ternctl command and tern-bench mode has its own entry (a bold tag line).
        for page, words in (("man1/ternctl.1.gz", ("queue", "show", "hold", "release", "flush",
                                                   "delete", "bounce", "stats", "metrics",
                                                   "passwd", "qshape", "config", "report")),
                            ("man1/tern-bench.1.gz", ("source", "sink"))):
            with gzip.open(os.path.join(self.root, "usr/share/man", page), "rt") as f:
                man = f.read()
            for word in words:
                self.assertRegex(man, rf"(?m)^\.TP\n\.B[RI]? {word}\b", f"{page}: {word}")

    def test_binaries_are_stripped(self):
        for path in ("usr/sbin/ternd", "usr/bin/ternctl", "usr/bin/tern-bench"):
            sections = subprocess.run(["readelf", "-S", "-W", os.path.join(self.root, path)],
                                      capture_output=True, check=True, timeout=60).stdout
            self.assertNotIn(b".symtab", sections, path)
            self.assertNotIn(b".debug_info", sections, path)

    def test_conffiles_and_maintainer_scripts(self):
        conffiles = self.control_file("conffiles").split()
        self.assertEqual(sorted(conffiles), ["/etc/logrotate.d/tern",
                                             "/etc/security/limits.d/tern.conf",
                                             "/etc/tern/ternd.flags"])
        postinst = self.control_file("postinst")
        self.assertIn("adduser --system", postinst)
        self.assertIn("--home /var/lib/tern", postinst)
        self.assertIn("/var/spool/tern", postinst)
        self.assertIn("[ -d /run/systemd/system ]", postinst)
        self.assertIn("rm -rf /var/spool/tern", self.control_file("postrm"))
        self.assertIn("deb-systemd-invoke stop", self.control_file("prerm"))
        for script in ("postinst", "prerm", "postrm"):
            path = os.path.join(self.work, script)
            with open(path, "w") as f:
                f.write(self.control_file(script))
            subprocess.run(["sh", "-n", path], check=True, timeout=60)

    def test_installed_ternd_runs(self):
        ternd = os.path.join(self.root, "usr/sbin/ternd")
        done = h.run_tool([ternd, "--version"])
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertTrue(done.stdout.decode().startswith(f"ternd {EXPECTED_VERSION} "),
                        done.stdout)
        # The packaged flagfile, with the paths and ports moved into the scratch directory.
        scratch = os.path.join(self.work, "check")
        os.makedirs(scratch, exist_ok=True)
        flagfile = os.path.join(scratch, "ternd.flags")
        with open(flagfile, "w") as f:
            f.write(f"--flagfile={os.path.join(self.root, 'etc/tern/ternd.flags')}\n"
                    "--listen=\n--listen=127.0.0.1:0\n--admin_listen=127.0.0.1:0\n"
                    f"--spool_dir={scratch}/spool\n--delivery_log={scratch}/log/d.jsonl\n"
                    "--dns_servers=127.0.0.1\n")
        done = h.run_tool([ternd, f"--flagfile={flagfile}", "--check_config"])
        out = done.stdout.decode() + done.stderr.decode()
        self.assertEqual(done.returncode, 0, out)
        self.assertIn("configuration OK", out)
        for tool in ("usr/bin/ternctl", "usr/bin/tern-bench"):
            done = h.run_tool([os.path.join(self.root, tool), "--version"])
            self.assertEqual(done.returncode, 0, done.stderr)

    def test_lintian_reports_no_errors(self):
        if shutil.which("lintian") is None:
            self.skipTest("lintian is not installed")
        done = h.run_tool(["lintian", "--no-cfg", "--tag-display-limit", "0", self.deb],
                          timeout_s=LINTIAN_TIMEOUT_S)
        out = done.stdout.decode() + done.stderr.decode()
        errors = [line for line in out.splitlines() if line.startswith("E:")]
        self.assertEqual(errors, [], out)
        sys.stderr.write("lintian:\n" + out)


if __name__ == "__main__":
    h.main()
