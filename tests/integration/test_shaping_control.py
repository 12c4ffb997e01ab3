"""The shaping control plane: `ternd --shaping=FILE` read at start, checked by
--check_config (every problem named with file, line and key) and re-read on SIGHUP (a bad
file keeps the running policy and the log says why); `ternctl shaping` shows the policy
file, its blocks and the suspensions with their time left; `ternctl suspend` and `resume`
change them, and a suspension survives kill -9 (the state file next to the spool)."""
import json
import os
import shutil
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternd_harness as h  # noqa: E402

GOOD = """\
[default]
connection_limit = 20
max_message_rate = "2000/s"

[provider.google]
match = [{ mx_suffix = ".google.com" }, { domain_suffix = ".googlemail.com" }]
connection_limit = 40

[domain."example.com"]
max_message_rate = "600/min,max_burst=1"
"""

# Four blocks: GOOD plus one more domain.
GOOD_CHANGED = GOOD + """
[domain."example.org"]
connection_limit = 5
"""

# (name, text, [expected pieces of one problem line: file:line, key, what]).
BAD = [
    ("syntax", "[default]\nconnection_limit = = 20\n", [":2:", "syntax error"]),
    ("unknown_key", "[default]\nconnection_limit = 20\nbogus_key = 1\n",
     [":3: ", "default.bogus_key: unknown key"]),
    ("bad_rate", '[default]\nconnection_limit = 20\n\n[domain."a.example"]\n'
     'max_message_rate = "600/mn"\n',
     [":5: ", 'domain."a.example".max_message_rate: ', "bad rate '600/mn'"]),
    ("negative", "[default]\nconnection_limit = -5\n",
     [":2: ", "default.connection_limit: ", "must be"]),
    ("unknown_source", '[default]\nconnection_limit = 20\n[source.ip9]\nmax_message_rate = "5/s"\n',
     [":3: ", "source.ip9: ", "not an egress source"]),
    ("unknown_provider", '[default]\nconnection_limit = 20\n\n[[provider.nope.automation]]\n'
     'regex = ["^421"]\naction = [{ suspend = "30m" }]\ntrigger = "immediate"\n',
     [":4: ", "provider.nope: unknown provider"]),
]


class ShapingControlTest(h.TerndTestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tern-it-shaping-")
        os.chmod(self.dir, 0o755)  # --user=nobody must reach the spool's parent
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.policy = os.path.join(self.dir, "shaping.toml")
        self.write_policy(GOOD)

    def write_policy(self, text, path=None):
        path = path or self.policy
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.rename(path + ".tmp", path)
        return path

    def shaping_json(self, d, *args):
        return json.loads(d.ternctl("shaping", "--json", *args).stdout)

    def check(self, policy):
        args = [h.TERND, "--check_config", "--listen=127.0.0.1:0", "--admin_listen=",
                f"--spool_dir={os.path.join(self.dir, 'spool-check')}", "--delivery_log=",
                "--deliver=false", "--shards=1", f"--shaping={policy}"]
        if os.geteuid() == 0:
            args.append("--user=nobody")
        done = h.run_tool(args)
        return (done.returncode, done.stdout.decode(errors="replace"),
                done.stderr.decode(errors="replace").splitlines())

    def test_show_suspend_persist_resume(self):
        d = self.start_ternd(f"--shaping={self.policy}", shards=2)
        text = d.ternctl("shaping").stdout
        self.assertIn(self.policy, text)
        self.assertRegex(text, r"(?m)^blocks\s+3$")
        shown = self.shaping_json(d)
        self.assertEqual(shown["policy_file"], self.policy)
        self.assertEqual(shown["policy_blocks"], 3)
        self.assertEqual(shown["overrides"], [])

        said = d.ternctl("suspend", "example.com", "--duration=30m", "--reason=test").stdout
        self.assertIn("domain:example.com", said)
        self.assertIn("suspended until", said)
        text = d.ternctl("shaping").stdout
        self.assertRegex(text, r"domain:example\.com\s+\*\s+suspend\s+\S+\s+(29m\d+s|30m0s)\s+"
                               r"ternctl\s+-\s+test")
        before = self.shaping_json(d)["overrides"]
        self.assertEqual(len(before), 1)
        self.assertEqual(before[0]["scope"], "domain:example.com")
        self.assertEqual(before[0]["source"], "")
        self.assertEqual(before[0]["reason"], "test")
        self.assertEqual(before[0]["cause"], "ternctl")
        self.assertGreater(before[0]["seconds_left"], 29 * 60)
        self.assertLessEqual(before[0]["seconds_left"], 30 * 60)

        # Metrics and the status page show it too.
        m = d.metrics()
        self.assertEqual(m.total("tern_shaping_policy_blocks"), 3)
        self.assertEqual(m.total("tern_shaping_overrides"), 1)
        self.assertEqual(m.total("tern_shaping_suspended", scope="domain:example.com", source=""), 1)
        self.assertEqual(m.total("tern_site_delayed_omitted"), 0)
        status, body = d.http_get("/status.json")
        self.assertEqual(status, 200)
        self.assertEqual([(o["scope"], o["kind"], o["reason"]) for o in json.loads(body)["overrides"]],
                         [("domain:example.com", "suspend", "test")])
        status, page = d.http_get("/")
        self.assertIn("Suspensions and overrides", page)

        # --destination: the domain's own settings and its suspension.
        dest = self.shaping_json(d, "--destination=Example.COM")["destination"]
        self.assertEqual(dest["domain"], "example.com")
        self.assertFalse(dest["mx_lookup"])
        self.assertEqual(dest["lane"]["max_message_rate"], "600/min,max_burst=1")
        self.assertEqual(dest["lane"]["connection_limit"], "20")
        self.assertEqual([o["scope"] for o in dest["overrides"]], ["domain:example.com"])
        google = self.shaping_json(d, "--destination=x.googlemail.com")["destination"]
        self.assertEqual(google["provider"], "google")
        self.assertEqual(google["lane"]["connection_limit"], "40")

        # Mistakes are refused and change nothing.
        bad = d.ternctl("suspend", "--provider=nope", "--duration=30m", "--reason=x", check=False)
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("nope", bad.stderr)
        bad = d.ternctl("suspend", "example.org", "--duration=30m", check=False)
        self.assertEqual(bad.returncode, 2)
        bad = d.ternctl("suspend", "example.org", "--duration=soon", "--reason=x", check=False)
        self.assertEqual(bad.returncode, 2)
        status, body, _ = d.http("GET", "/suspend?domain=example.org&duration=60&reason=x")
        self.assertEqual(status, 405, body)
        for target in ("/suspend?domain=a%20b.example&duration=60&reason=x",
                       "/suspend?domain=example.org&duration=60&reason=x%0Ay",
                       "/suspend?domain=example.org&duration=0&reason=x",
                       "/suspend?domain=example.org&source=a%3Cb&duration=60&reason=x",
                       "/suspend?domain=example.org&site=mx.example&duration=60&reason=x"):
            status, body, _ = d.http("POST", target)
            self.assertEqual(status, 400, (target, body))
        status, body, _ = d.http("POST", "/suspend?domain=example.org&duration=60&reason=x",
                                 headers={"X-Tern-Request": None})
        self.assertNotEqual(status, 200, body)
        self.assertEqual(len(self.shaping_json(d)["overrides"]), 1)

        # The state file holds it within about a second; kill -9 loses nothing then.
        state_file = os.path.join(d.spool_dir, "shaping-state.jsonl")

        def saved():
            try:
                with open(state_file) as f:
                    return "domain:example.com" in f.read()
            except OSError:
                return False
        h.wait_for(saved, 30, what="the state file to hold the suspension")
        time.sleep(1.1)  # so the time left after the restart is visibly less
        d.kill9()
        d.start()
        after = self.shaping_json(d)["overrides"]
        self.assertEqual(len(after), 1, after)
        self.assertEqual(after[0]["scope"], "domain:example.com")
        self.assertEqual(after[0]["until"], before[0]["until"])
        self.assertLess(after[0]["seconds_left"], before[0]["seconds_left"])
        self.assertIn("domain:example.com", d.ternctl("shaping").stdout)

        said = d.ternctl("resume", "example.com").stdout
        self.assertIn("resumed", said)
        self.assertEqual(self.shaping_json(d)["overrides"], [])
        said = d.ternctl("resume", "example.com").stdout
        self.assertIn("neither suspended nor overridden", said)
        # Resumed for good: after a clean stop and start it stays gone.
        # The other scopes: a provider of the policy, a site (any order and case), a source.
        said = d.ternctl("suspend", "--provider=google", "--duration=1h", "--reason=busy").stdout
        self.assertIn("provider:google (source every): suspended", said)
        said = d.ternctl("suspend", "--site=MX2.example.net,mx1.example.net", "--duration=1h",
                         "--reason=down").stdout
        self.assertIn("site:mx1.example.net,mx2.example.net", said)
        bad = d.ternctl("suspend", "--site=mx1.example.net", "--source=ip7", "--duration=1h",
                        "--reason=x", check=False)
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("ip7", bad.stderr)
        self.assertEqual(sorted(o["scope"] for o in self.shaping_json(d)["overrides"]),
                         ["provider:google", "site:mx1.example.net,mx2.example.net"])
        self.assertIn("resumed", d.ternctl("resume", "--provider=google").stdout)
        self.assertIn("resumed",
                      d.ternctl("resume", "--site=mx1.example.net,mx2.example.net").stdout)
        self.assertEqual(self.shaping_json(d)["overrides"], [])
        d.restart()
        self.assertEqual(self.shaping_json(d)["overrides"], [])

    def test_check_config_names_file_line_and_key(self):
        rc, out, err = self.check(self.policy)
        self.assertEqual(rc, 0, "\n".join(err))
        self.assertIn("shaping " + self.policy + " (3 blocks)", out)
        for name, text, pieces in BAD:
            with self.subTest(name):
                path = self.write_policy(text, os.path.join(self.dir, name + ".toml"))
                rc, _, err = self.check(path)
                self.assertEqual(rc, 1, "\n".join(err))
                lines = [e for e in err if e.startswith(f"ternd: config: --shaping={path}: ")]
                self.assertEqual(len(lines), 1, "\n".join(err))
                self.assertIn(path + pieces[0], lines[0])
                for piece in pieces[1:]:
                    self.assertIn(piece, lines[0])
        # Several problems: each on its own line.
        path = self.write_policy(
            "[default]\nconnection_limit = -5\nbogus = 1\n", os.path.join(self.dir, "two.toml"))
        rc, _, err = self.check(path)
        self.assertEqual(rc, 1)
        self.assertEqual(len([e for e in err if e.startswith("ternd: config: --shaping=")]), 2,
                         "\n".join(err))

    def test_ternd_refuses_a_bad_file(self):
        for name, text, pieces in BAD:
            with self.subTest(name):
                path = self.write_policy(text, os.path.join(self.dir, name + ".toml"))
                done = h.run_tool([h.TERND, "--listen=127.0.0.1:0", "--admin_listen=127.0.0.1:0",
                                   f"--spool_dir={os.path.join(self.dir, 'spool-' + name)}",
                                   "--delivery_log=", "--deliver=false", "--shards=1",
                                   f"--shaping={path}"])
                err = done.stderr.decode(errors="replace")
                self.assertEqual(done.returncode, 2, err)
                self.assertIn(f"--shaping={path}", err)
                self.assertIn(path + pieces[0], err)

    def test_sighup_keeps_the_old_policy_when_the_new_is_bad(self):
        d = self.start_ternd(f"--shaping={self.policy}", shards=1)
        self.assertEqual(self.shaping_json(d)["policy_blocks"], 3)

        self.write_policy("[default]\nconnection_limit = 20\nbogus_key = 1\n")
        d.proc.send_signal(signal.SIGHUP)
        h.wait_for(lambda: "not reloaded" in d.log(), 30,
                   what="the log to say the policy was not reloaded")
        self.assertIn(":3: default.bogus_key: unknown key", d.log())
        self.assertEqual(self.shaping_json(d)["policy_blocks"], 3)

        self.write_policy(GOOD_CHANGED)
        d.proc.send_signal(signal.SIGHUP)
        h.wait_for(lambda: f"shaping policy {self.policy} reloaded (4 blocks)" in d.log(),
                   30, what="the log to say the policy was reloaded")
        self.assertEqual(self.shaping_json(d)["policy_blocks"], 4)
        self.assertRegex(d.ternctl("shaping").stdout, r"(?m)^blocks\s+4$")


if __name__ == "__main__":
    h.main()
