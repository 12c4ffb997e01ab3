"""deploy/: the files an operator installs still fit the ternd they ship with. The Grafana
dashboard is importable and queries only metric families a running ternd exports; the
example flagfile starts the real ternd, also with every commented-out example turned on
(TLS, submission, AUTH, DKIM); every sysctl key exists on this kernel and the limits file
is well formed; the systemd unit passes `systemd-analyze verify` with an exposure level of
at most 2.5, lets io_uring through its system call filter, and agrees with the flagfile,
the tuning files and the logrotate file on paths, user and limits. (The rotation the
logrotate file relies on, SIGHUP reopening the delivery log, is tested in
test_delivery_log.py.)"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternd_harness as h  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEPLOY = os.path.join(REPO, "deploy")
UNIT = os.path.join(DEPLOY, "ternd.service")
FLAGFILE = os.path.join(DEPLOY, "ternd.flags.example")
DASHBOARD = os.path.join(DEPLOY, "grafana-dashboard.json")
SYSCTL = os.path.join(DEPLOY, "sysctl.d", "60-tern.conf")
LIMITS = os.path.join(DEPLOY, "limits.d", "tern.conf")
LOGROTATE = os.path.join(DEPLOY, "logrotate.d", "tern")

# Families the dashboard must show (latencies, queue by state, per destination).
REQUIRED_FAMILIES = {"tern_smtp_accept_duration_seconds", "tern_delivery_delay_seconds",
                     "tern_queue_messages", "tern_destination_open_connections"}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
DATASOURCE = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
EXPOSURE_MAX = 2.5
IO_URING_CALLS = ("io_uring_setup", "io_uring_enter", "io_uring_register")
# What the brief for deploy/ asks the sysctl file to cover.
SYSCTL_REQUIRED = ("net.core.somaxconn", "net.ipv4.tcp_max_syn_backlog",
                   "net.ipv4.ip_local_port_range", "net.ipv4.tcp_fin_timeout",
                   "net.ipv4.tcp_tw_reuse", "fs.file-max", "fs.nr_open",
                   "net.core.netdev_max_backlog")
LIMIT_ITEMS = {"core", "data", "fsize", "memlock", "nofile", "rss", "stack", "cpu", "nproc",
               "as", "maxlogins", "maxsyslogins", "priority", "locks", "sigpending",
               "msgqueue", "nice", "rtprio"}


def read(path):
    with open(path) as f:
        return f.read()


def flagfile_flags(text):
    """[(name, value)] of the active lines of a flagfile, in order."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r"--([a-z_]+)(?:=(.*))?", line)
        if not m:
            raise AssertionError(f"flagfile line is not --name=value: {line!r}")
        out.append((m.group(1), m.group(2) or ""))
    return out


def unit_settings(text):
    """{"Section.Key": [values in order]} of a systemd unit (no line continuations used)."""
    settings, section = {}, None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, sep, value = line.partition("=")
        if not sep or section is None:
            raise AssertionError(f"unit line outside a section or without '=': {line!r}")
        settings.setdefault(f"{section}.{key.strip()}", []).append(value.strip())
    return settings


def sysctl_settings(text):
    """{key: value} of a sysctl.d file."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise AssertionError(f"sysctl line without '=': {line!r}")
        out[key.strip()] = value.strip()
    return out


def known_ternd_flags():
    """Names of every flag the ternd under test defines (from --helpfull)."""
    done = h.run_tool([h.TERND, "--helpfull"])
    text = (done.stdout + done.stderr).decode(errors="replace")
    names = set(re.findall(r"^\s+--([a-z_0-9]+) \(", text, re.M))
    if "spool_dir" not in names:
        raise AssertionError(f"could not read ternd's flags from --helpfull:\n{text[:2000]}")
    return names


def metric_names(expr):
    return re.findall(r"\btern_[a-zA-Z0-9_]+", expr)


def systemd_analyze():
    return shutil.which("systemd-analyze")


class DashboardTest(h.TerndTestCase):
    def send_mail_and_a_reject(self, d):
        # Histograms (commit time, records per commit) and the reject counter get samples.
        with d.smtp() as c:
            c.ehlo()
            for i in range(2):
                self.assertQueued(c.send_message("deploy@example.com", ["a@example.net"],
                                                 h.make_body(f"dashboard {i}")))
            self.assertReply(c.cmd("BOGUS"), 500, "5.5.1")
            self.assertReply(c.cmd("QUIT"), 221)

    def test_dashboard_queries_only_exported_metrics(self):
        dashboard = json.loads(read(DASHBOARD))
        self.assertIn("DS_PROMETHEUS", [i["name"] for i in dashboard["__inputs"]])
        self.assertTrue(36 <= dashboard["schemaVersion"] <= 39, dashboard["schemaVersion"])
        self.assertIsNone(dashboard.get("id"), "an importable dashboard has no id")
        panels = dashboard["panels"]
        self.assertGreaterEqual(len(panels), 10)
        self.assertEqual(len({p["id"] for p in panels}), len(panels), "panel ids repeat")
        self.assertEqual(len({p["title"] for p in panels}), len(panels), "panel titles repeat")

        exprs = []  # (where, expr)
        for p in panels:
            where = f"panel {p.get('title')!r}"
            self.assertEqual(p.get("datasource"), DATASOURCE, where)
            self.assertTrue(p.get("targets"), f"{where} has no targets")
            self.assertIn("gridPos", p, where)
            for t in p["targets"]:
                self.assertEqual(t.get("datasource"), DATASOURCE, where)
                self.assertTrue(t.get("expr"), f"{where}: a target without expr")
                exprs.append((where, t["expr"]))
        for v in dashboard.get("templating", {}).get("list", []):
            if v.get("type") == "query":
                self.assertEqual(v.get("datasource"), DATASOURCE, v.get("name"))
                query = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
                exprs.append((f"variable {v['name']!r}", query))

        d = self.start_ternd()
        self.send_mail_and_a_reject(d)
        m = d.metrics()
        # Every family with a TYPE line counts as exported, also one without samples yet.
        exported = set(m.types)

        def family(name):
            if name in exported:
                return name
            for suffix in HISTOGRAM_SUFFIXES:
                base = name[: -len(suffix)]
                if name.endswith(suffix) and m.types.get(base) == "histogram":
                    return base
            return name

        referenced, missing = set(), []
        for where, expr in exprs:
            self.assertEqual(expr.count("("), expr.count(")"), f"{where}: {expr}")
            names = metric_names(expr)
            self.assertTrue(names, f"{where}: no tern_* metric in {expr!r}")
            if where.startswith("panel"):
                # Every query sums over the shard label (ternd exports one series per shard).
                self.assertIn("sum by (", expr, f"{where}: {expr}")
            for name in names:
                fam = family(name)
                referenced.add(fam)
                if fam not in exported:
                    missing.append(f"{where}: {name}")
        self.assertEqual(missing, [], "the dashboard queries metrics ternd does not export")
        self.assertEqual(REQUIRED_FAMILIES - referenced, set())
        # The panels the operators asked for.
        for needed in ("tern_smtp_messages_total", "tern_smtp_accepted_bytes_total",
                       "tern_smtp_rejects_total", "tern_smtp_open_connections",
                       "tern_queue_messages", "tern_queue_bytes",
                       "tern_spool_commit_duration_seconds", "tern_spool_records_per_commit",
                       "tern_spool_disk_bytes", "tern_spool_segments",
                       "tern_delivery_recipients_total", "tern_delivery_open_connections",
                       "tern_tls_handshakes_total", "tern_dns_queries_total"):
            self.assertIn(needed, referenced)
        # Commit latency quantiles come from the histogram's buckets, summed by le.
        self.assertTrue(any("histogram_quantile(0.99" in e and "tern_spool_commit_duration_seconds_bucket"
                            in e and "le)" in e for _, e in exprs))


class FlagfileTest(h.TerndTestCase):
    def test_example_flagfile_starts_ternd(self):
        d = h.Ternd(deliver=True)
        self.track(f"ternd stderr ({d.workdir})", d.log_tail, d.cleanup)
        self.addCleanup(self._stop_daemon, d)
        # The flagfile, then what this test must change: later flags win, and an empty
        # list flag clears what the file listed (so nothing binds port 25 or leaves the host).
        d.flags += [f"--flagfile={FLAGFILE}",
                    "--listen=", "--listen=127.0.0.1:0",
                    "--submission_listen=", "--smtps_listen=",
                    "--admin_listen=127.0.0.1:0",
                    f"--spool_dir={d.spool_dir}", f"--delivery_log={d.delivery_log}",
                    f"--ready_file={d.ready_file}",
                    "--dns_servers=", "--dns_servers=127.0.0.1:1"]
        d.start()

        self.assertEqual([host for host, _ in d.smtp_addresses], ["127.0.0.1"])
        flags = dict(flagfile_flags(read(FLAGFILE)))
        with d.smtp() as c:
            # Values from the file are in force: the greeting's name, SIZE.
            self.assertIn(flags["hostname"], c.greeting.text)
            ehlo = c.ehlo()
            self.assertIn(f"SIZE {flags['max_message_size']}", ehlo.text)
            self.assertQueued(c.send_message("deploy@example.com", ["a@example.com"],
                                             h.make_body("flagfile")))
        self.assertEqual(d.stop(), 0, "ternd exited non-zero on SIGTERM")
        self.assertIn("ternd stopped", d.log())

    def test_example_flagfile_with_every_example_uncommented(self):
        # What an operator does next: turn on TLS, submission, AUTH, DKIM, a smarthost.
        # Every commented-out flag line is uncommented, its files made for real here.
        d = h.Ternd(deliver=True)
        self.track(f"ternd stderr ({d.workdir})", d.log_tail, d.cleanup)
        self.addCleanup(self._stop_daemon, d)
        cert, key = h.make_certificate(d.workdir)
        users = os.path.join(d.workdir, "users")
        done = h.run_tool([h.TERNCTL, "passwd", "alice@example.com", f"--users_file={users}"],
                          input_bytes=b"secret\n")
        self.assertEqual(done.returncode, 0, done.stderr)
        dkim = os.path.join(d.workdir, "dkim.pem")
        done = h.run_tool(["openssl", "genpkey", "-algorithm", "ed25519", "-out", dkim])
        self.assertEqual(done.returncode, 0, done.stderr)
        files = {r"/etc/tern/tls/[^ ]*\.crt": cert, r"/etc/tern/tls/[^ ]*\.key": key,
                 r"/etc/tern/users": users, r"/etc/tern/dkim/[^ ]*\.pem": dkim}
        lines = re.sub(r"^#(--[a-z_])", r"\1", read(FLAGFILE), flags=re.M).splitlines()
        lines = [l for l in lines if l.startswith("--")]
        for pattern, path in files.items():
            lines = [re.sub(pattern, path, l) for l in lines]
        self.assertEqual([l for l in lines if "/etc/tern/" in l], [])
        for path in files.values():
            self.assertTrue(any(path in l for l in lines), path)
        flagfile = os.path.join(d.workdir, "ternd.flags")
        with open(flagfile, "w") as f:
            f.write("\n".join(lines) + "\n")
        d.flags += [f"--flagfile={flagfile}",
                    "--listen=", "--listen=127.0.0.1:0",
                    "--submission_listen=", "--submission_listen=127.0.0.1:0",
                    "--smtps_listen=", "--smtps_listen=127.0.0.1:0",
                    "--admin_listen=127.0.0.1:0", "--shards=2",
                    f"--spool_dir={d.spool_dir}", f"--delivery_log={d.delivery_log}",
                    f"--ready_file={d.ready_file}",
                    "--dns_servers=", "--dns_servers=127.0.0.1:1"]
        d.start()

        self.assertEqual(sorted(d.ports), ["smtp", "smtps", "submission"])
        with d.smtp(port=d.ports["submission"][0]) as c:
            self.assertIn("STARTTLS", c.ehlo().text)
        self.assertEqual(d.stop(), 0, "ternd exited non-zero on SIGTERM")

    def test_example_flagfile_names_only_real_flags(self):
        # Commented-out examples too: uncommenting one must not break the start.
        known = known_ternd_flags()
        names = re.findall(r"^\s*#?\s*--([a-z_0-9]+)=", read(FLAGFILE), re.M)
        self.assertTrue(names)
        self.assertEqual(sorted(set(names) - known), [], "flags ternd does not define")
        active = dict(flagfile_flags(read(FLAGFILE)))
        # Under the unit ternd starts as user tern already; --user is for root starts.
        self.assertNotIn("user", active)


class TuningFilesTest(h.TerndTestCase):
    def test_sysctl_keys_exist_with_integer_values(self):
        settings = sysctl_settings(read(SYSCTL))
        for key in SYSCTL_REQUIRED:
            self.assertIn(key, settings)
        for key, value in settings.items():
            self.assertRegex(key, r"^[a-z0-9_.-]+$")
            path = "/proc/sys/" + key.replace(".", "/")
            self.assertTrue(os.path.exists(path), f"{key}: no {path} on this kernel")
            fields = value.split()
            self.assertTrue(fields, key)
            for field in fields:
                self.assertRegex(field, r"^[0-9]+$", f"{key} = {value}")
        low, high = map(int, settings["net.ipv4.ip_local_port_range"].split())
        self.assertLess(low, high)
        # ternd's admin endpoint must not sit among the ephemeral ports.
        admin_port = int(dict(flagfile_flags(read(FLAGFILE)))["admin_listen"].rsplit(":", 1)[1])
        self.assertFalse(low <= admin_port <= high, "admin port inside ip_local_port_range")

    def test_limits_lines_are_well_formed(self):
        lines = [l.split() for l in read(LIMITS).splitlines()
                 if l.strip() and not l.strip().startswith("#")]
        self.assertTrue(lines)
        for fields in lines:
            self.assertEqual(len(fields), 4, fields)
            domain, kind, item, value = fields
            self.assertRegex(domain, r"^(\*|@?[a-z_][a-z0-9_-]*)$", fields)
            self.assertIn(kind, ("soft", "hard", "-"), fields)
            self.assertIn(item, LIMIT_ITEMS, fields)
            self.assertRegex(value, r"^(-?[0-9]+|unlimited|infinity)$", fields)
        self.assertIn(["tern", "hard", "nofile", "1048576"], lines)


class UnitTest(h.TerndTestCase):
    def setUp(self):
        self.unit = unit_settings(read(UNIT))
        self.flags = dict(flagfile_flags(read(FLAGFILE)))

    def one(self, key):
        values = self.unit.get(key, [])
        self.assertEqual(len(values), 1, f"{key}: {values}")
        return values[0]

    def test_unit_agrees_with_flagfile_and_tuning_files(self):
        self.assertEqual(self.one("Service.User"), "tern")
        self.assertEqual(self.one("Service.Group"), "tern")
        self.assertEqual(self.one("Service.ExecStart"),
                         "/usr/local/bin/ternd --flagfile=/etc/tern/ternd.flags")
        self.assertEqual(self.one("Service.AmbientCapabilities"), "CAP_NET_BIND_SERVICE")
        self.assertEqual(self.one("Service.CapabilityBoundingSet"), "CAP_NET_BIND_SERVICE")
        self.assertEqual(self.one("Service.NoNewPrivileges"), "yes")
        self.assertEqual(self.one("Service.ProtectSystem"), "strict")
        self.assertEqual(set(self.one("Service.RestrictAddressFamilies").split()),
                         {"AF_INET", "AF_INET6", "AF_UNIX"})
        self.assertEqual(self.one("Service.ExecReload"), "/bin/kill -HUP $MAINPID")
        writable = set(self.one("Service.ReadWritePaths").split())
        # What ternd writes is exactly what the unit lets it write.
        self.assertIn(self.flags["spool_dir"], writable)
        log_dir = os.path.dirname(self.flags["delivery_log"])
        self.assertIn(log_dir, writable)
        self.assertEqual("/var/log/" + self.one("Service.LogsDirectory"), log_dir)
        self.assertRegex(self.flags["admin_listen"], r"^(127\.0\.0\.1|\[::1\]):[0-9]+$")
        # The stop timeout covers ternd's --shutdown_grace.
        grace = int(self.flags.get("shutdown_grace", "10s").rstrip("s"))
        self.assertGreater(int(self.one("Service.TimeoutStopSec").rstrip("s")), grace)
        # Descriptors: the unit's limit fits under fs.nr_open and matches limits.d.
        nofile = int(self.one("Service.LimitNOFILE"))
        self.assertLessEqual(nofile, int(sysctl_settings(read(SYSCTL))["fs.nr_open"]))
        self.assertIn(f"tern hard nofile {nofile}",
                      [" ".join(l.split()) for l in read(LIMITS).splitlines()])

    def test_logrotate_reopens_instead_of_copying(self):
        text = read(LOGROTATE)
        body = [l.strip() for l in text.splitlines() if l.strip() and not l.strip().startswith("#")]
        self.assertEqual(body[0], self.flags["delivery_log"] + " {")
        self.assertNotIn("copytruncate", body)
        self.assertIn("postrotate", body)
        self.assertTrue(any("systemctl reload ternd.service" in l for l in body), body)
        self.assertIn("create 0640 tern tern", body)
        self.assertIn("su tern tern", body)

    def test_systemd_analyze_verify_and_security(self):
        analyze = systemd_analyze()
        if not analyze:
            self.skipTest("systemd-analyze is not installed (Debian package systemd)")
        # verify insists on an executable ExecStart: the copy points at the ternd under test.
        tmp = tempfile.mkdtemp(prefix="tern-it-unit-")
        self.addCleanup(shutil.rmtree, tmp, True)
        unit = os.path.join(tmp, "ternd.service")
        text = read(UNIT)
        rewritten = text.replace("ExecStart=/usr/local/bin/ternd ",
                                 f"ExecStart={os.path.abspath(h.TERND)} ")
        self.assertNotEqual(rewritten, text)
        with open(unit, "w") as f:
            f.write(rewritten)
        env = dict(os.environ, SYSTEMD_COLORS="0", SYSTEMD_PAGER="", LC_ALL="C.UTF-8")
        done = subprocess.run([analyze, "verify", unit], capture_output=True, env=env,
                              timeout=h.scaled(h.TOOL_TIMEOUT_S))
        out = (done.stdout + done.stderr).decode(errors="replace")
        self.assertEqual(done.returncode, 0, f"systemd-analyze verify:\n{out}")
        # verify exits 0 on a misspelt key or a bad value ("..., ignoring."): every complaint
        # about the unit counts, except that user tern does not exist on this machine.
        complaints = [line for line in out.splitlines()
                      if unit in line and not re.search(r"\b(user|group)\b", line, re.I)]
        self.assertEqual(complaints, [], f"systemd-analyze verify:\n{out}")

        done = subprocess.run([analyze, "security", "--offline=yes", unit], capture_output=True,
                              env=env, timeout=h.scaled(h.TOOL_TIMEOUT_S))
        out = (done.stdout + done.stderr).decode(errors="replace")
        m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", out)
        self.assertIsNotNone(m, f"no exposure level in:\n{out}")
        self.assertLessEqual(float(m.group(1)), EXPOSURE_MAX, out)

    def test_syscall_filter_lets_io_uring_through(self):
        analyze = systemd_analyze()
        if not analyze:
            self.skipTest("systemd-analyze is not installed (Debian package systemd)")
        cache = {}

        def expand(group):
            """Every system call in a @group, nested groups included."""
            if group not in cache:
                cache[group] = set()
                done = h.run_tool([analyze, "syscall-filter", group])
                self.assertEqual(done.returncode, 0, done.stderr)
                lines = done.stdout.decode().splitlines()[1:]  # the first names the group
                for line in lines:
                    line = line.strip()
                    if not line or line.startswith("#"):
                        continue
                    cache[group] |= expand(line) if line.startswith("@") else {line}
            return cache[group]

        def calls(items):
            out = set()
            for item in items:
                out |= expand(item) if item.startswith("@") else {item}
            return out

        allowed, denied = None, set()
        for value in self.unit.get("Service.SystemCallFilter", []):
            if value.startswith("~"):
                denied |= calls(value[1:].split())
            else:
                allowed = calls(value.split()) | (allowed or set())
        for call in IO_URING_CALLS:
            if allowed is not None:
                self.assertIn(call, allowed, f"{call} not allowed by SystemCallFilter")
            self.assertNotIn(call, denied, f"{call} denied by SystemCallFilter")
        # And what ternd needs besides: eventfd wake-ups, the descriptor limit, pinning.
        for call in ("eventfd2", "setrlimit", "sched_setaffinity", "fdatasync", "mlock"):
            if allowed is not None:
                self.assertIn(call, allowed)
            self.assertNotIn(call, denied)


if __name__ == "__main__":
    h.main()
