"""Least privilege: ternd started as root with --user=nobody binds, locks and opens its
spool, then runs as nobody for good: every uid and gid is nobody's, no supplementary
groups, no capabilities, no_new_privs set, setuid(0) refused (ternd checks it and says so),
and mail still flows and survives a kill -9 with the spool owned by nobody. A bad --user is
refused before anything starts. Needs root; skipped otherwise."""
import os
import pwd
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternd_harness as h  # noqa: E402


def proc_status(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


class PrivilegesTest(h.TerndTestCase):
    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("needs root")
        self.nobody = pwd.getpwnam("nobody")
        # The ready file is written after the switch: its folder must be nobody's.
        self.workdir = tempfile.mkdtemp(prefix="tern-it-priv-")
        os.chmod(self.workdir, 0o755)
        os.chown(self.workdir, self.nobody.pw_uid, self.nobody.pw_gid)
        self.addCleanup(shutil.rmtree, self.workdir, True)

    def test_runs_as_nobody_without_any_privilege(self):
        d = self.start_ternd("--user=nobody", workdir=self.workdir)
        status = proc_status(d.pid)
        uid, gid = str(self.nobody.pw_uid), str(self.nobody.pw_gid)
        self.assertEqual(status["Uid"].split(), [uid] * 4)
        self.assertEqual(status["Gid"].split(), [gid] * 4)
        self.assertEqual(status["Groups"], "")
        for caps in ("CapInh", "CapPrm", "CapEff", "CapAmb"):
            self.assertEqual(int(status[caps], 16), 0, caps)
        self.assertEqual(status["NoNewPrivs"], "1")
        # Every thread (the shards too) runs as nobody.
        for tid in os.listdir(f"/proc/{d.pid}/task"):
            self.assertEqual(proc_status(f"{d.pid}/task/{tid}")["Uid"].split(), [uid] * 4)
        self.assertIn("privileges dropped to nobody", d.log_tail())
        self.assertIn("setuid(0) refused", d.log_tail())

        with d.smtp() as c:
            c.ehlo()
            qid = self.assertQueued(c.send_message("priv@example.com", ["x@example.net"],
                                                   h.make_body("least privilege")))
        for root, dirs, files in os.walk(d.spool_dir):
            for name in dirs + files:
                owner = os.lstat(os.path.join(root, name)).st_uid
                self.assertEqual(owner, self.nobody.pw_uid, os.path.join(root, name))
        d.kill9()
        d.start()
        self.assertIn(qid, d.queue_by_id())

    def test_a_bad_user_is_refused_before_anything_starts(self):
        for user, message in (("no-such-user-tern", "unknown user"), ("root", "is root")):
            d = h.Ternd([f"--user={user}"], workdir=self.workdir)
            self.track(f"ternd --user={user}", d.log_tail, lambda: None)
            with self.assertRaises(AssertionError) as refused:
                d.start()
            self.assertIn(message, str(refused.exception))
            self.assertIn("exited with 1", str(refused.exception))


if __name__ == "__main__":
    h.main()
