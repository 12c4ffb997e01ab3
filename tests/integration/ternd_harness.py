"""Harness for Tern's integration tests: a real ternd on loopback, its admin endpoint,
ternctl, and a raw-socket SMTP client.

Every test script is run as

    /usr/bin/python3 test_x.py --ternd PATH --ternctl PATH [--tern_bench PATH]
        [--ternd_faults PATH] [unittest args...]

and ends with `ternd_harness.main()`, which takes the paths (or $TERND / $TERNCTL /
$TERN_BENCH / $TERND_FAULTS) and hands the rest to unittest.

    class MyTest(ternd_harness.TerndTestCase):
        def test_something(self):
            d = self.start_ternd("--max_recipients=5")   # stopped (SIGTERM, rc 0) on cleanup
            with d.smtp() as c:                          # greeting already read
                self.assertEqual(c.cmd("EHLO client.example").code, 250)
            self.assertEqual(d.queue_json()["total"], 0)

Every wait is bounded; every process started here is stopped, also when a test fails, and
ternd's stderr is printed when a test fails. Timeouts are generous (the suite also runs
under ASan); TERN_TIMEOUT_SCALE multiplies them. TERN_IO_ENGINE=epoll (or uring) starts
every ternd with that --io_engine (a test's own --io_engine flag still wins).
"""

import json
import mmap
import os
import re
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

TERND = os.environ.get("TERND", "")
TERNCTL = os.environ.get("TERNCTL", "")
TERN_BENCH = os.environ.get("TERN_BENCH", "")  # optional: tests of tern-bench need it
# Optional: ternd over the fault-injecting storage (tests/tools/ternd_faults_main.cc).
TERND_FAULTS = os.environ.get("TERND_FAULTS", "")
TIMEOUT_SCALE = float(os.environ.get("TERN_TIMEOUT_SCALE", "1"))
# --io_engine for every ternd started here ("": ternd's default, auto).
IO_ENGINE = os.environ.get("TERN_IO_ENGINE", "")

# Seconds. Bounds, not expectations: nothing here asserts how fast anything is.
START_TIMEOUT_S = 30
STOP_TIMEOUT_S = 60
IO_TIMEOUT_S = 30
TOOL_TIMEOUT_S = 60

QUEUED_RE = re.compile(r"queued as ([0-9A-F]{16})\b")
QUEUE_ID_RE = re.compile(r"^[0-9A-F]{16}$")


def scaled(seconds):
    return seconds * TIMEOUT_SCALE


def main():
    """Parses --ternd/--ternctl (and --tern_bench) out of sys.argv, then runs unittest with
    the rest."""
    global TERND, TERNCTL, TERN_BENCH, TERND_FAULTS
    rest = [sys.argv[0]]
    args = sys.argv[1:]
    i = 0
    while i < len(args):
        arg = args[i]
        for name in ("--ternd", "--ternctl", "--tern_bench", "--ternd_faults"):
            if arg == name and i + 1 < len(args):
                value = args[i + 1]
                i += 1
                break
            if arg.startswith(name + "="):
                value = arg[len(name) + 1:]
                break
        else:
            rest.append(arg)
            i += 1
            continue
        if name == "--ternd":
            TERND = value
        elif name == "--ternctl":
            TERNCTL = value
        elif name == "--ternd_faults":
            TERND_FAULTS = value
        else:
            TERN_BENCH = value
        i += 1
    for name, path in (("--ternd", TERND), ("--ternctl", TERNCTL)):
        if not path or not os.access(path, os.X_OK):
            sys.stderr.write(f"{rest[0]}: {name} PATH is required (got {path!r})\n")
            sys.exit(2)
    unittest.main(argv=rest, verbosity=2)


def wait_for(predicate, timeout_s, interval_s=0.05, what="condition"):
    """Polls predicate() until it returns a true value (returned) or the bound expires."""
    deadline = time.monotonic() + scaled(timeout_s)
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {scaled(timeout_s):.0f}s waiting for {what}")
        time.sleep(interval_s)


def run_tool(args, timeout_s=TOOL_TIMEOUT_S, input_bytes=None):
    """Runs a command with a bound (subprocess.run kills it on timeout)."""
    return subprocess.run(args, input=input_bytes, capture_output=True,
                          timeout=scaled(timeout_s))


def free_closed_port():
    """A loopback port with nothing listening: bound (so nobody else takes it) but not
    listening. Returns (socket, port); close the socket when done."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    return s, s.getsockname()[1]


# ---------------------------------------------------------------------------------------
# Metrics.

_SAMPLE_RE = re.compile(
    r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?[0-9.eE+-]+|[+-]?Inf|NaN)( -?[0-9]+)?$')
_LABEL_RE = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)')


def parse_labels(text):
    """'a="1",b="x"' -> {"a": "1", "b": "x"}; raises ValueError on bad syntax."""
    labels = {}
    pos = 0
    while pos < len(text):
        m = _LABEL_RE.match(text, pos)
        if not m or m.end() == pos:
            raise ValueError(f"bad label set {text!r} at {pos}")
        labels[m.group(1)] = m.group(2)
        pos = m.end()
    return labels


class Metrics:
    """Parsed Prometheus text exposition. Strict: a malformed line raises ValueError."""

    def __init__(self, text):
        self.text = text
        self.samples = []  # (name, labels dict, value)
        self.help = {}
        self.types = {}
        for number, line in enumerate(text.split("\n"), 1):
            if not line:
                continue
            if line.startswith("#"):
                parts = line.split(" ", 3)
                if len(parts) >= 3 and parts[1] == "HELP":
                    self.help[parts[2]] = parts[3] if len(parts) > 3 else ""
                elif len(parts) >= 4 and parts[1] == "TYPE":
                    self.types[parts[2]] = parts[3]
                continue
            m = _SAMPLE_RE.match(line)
            if not m:
                raise ValueError(f"line {number}: not a Prometheus sample: {line!r}")
            labels = parse_labels(m.group(3) or "")
            self.samples.append((m.group(1), labels, float(m.group(4))))

    def total(self, name, **labels):
        """Sum of the samples of `name` whose labels include `labels` (e.g. over shards)."""
        return sum(v for n, l, v in self.samples
                   if n == name and all(l.get(k) == str(x) for k, x in labels.items()))

    def by_label(self, name, label):
        """{label value: sum} over the samples of `name`."""
        out = {}
        for n, l, v in self.samples:
            if n == name and label in l:
                out[l[label]] = out.get(l[label], 0) + v
        return out

    def names(self):
        return {n for n, _, _ in self.samples}


# ---------------------------------------------------------------------------------------
# Raw SMTP client.

class SmtpClosed(Exception):
    """The server closed the connection."""


class Reply:
    def __init__(self, lines):
        self.lines = lines  # without CRLF
        self.code = int(lines[0][:3])
        first = lines[-1][4:]
        m = re.match(r"([245]\.\d{1,3}\.\d{1,3})\b", first)
        self.enhanced = m.group(1) if m else None
        self.text = "\n".join(lines)

    def __repr__(self):
        return f"Reply({self.text!r})"

    def queue_id(self):
        m = QUEUED_RE.search(self.text)
        return m.group(1) if m else None


class SmtpClient:
    """One SMTP connection on a raw socket. Reads complete (multi-line) replies."""

    def __init__(self, port, host="127.0.0.1", source=None, timeout_s=IO_TIMEOUT_S,
                 read_greeting=True, tls=False):
        self.sock = socket.create_connection((host, port), timeout=scaled(timeout_s),
                                             source_address=(source, 0) if source else None)
        self.buf = b""
        if tls:  # implicit TLS (port 465): the handshake comes before the greeting
            self.sock = tls_client_context().wrap_socket(self.sock)
        self.greeting = self.read_reply() if read_greeting else None

    def start_tls(self):
        """After a 220 to STARTTLS: the TLS handshake on the same socket. Fails if the server
        sent anything after the 220 (it must wait for the handshake)."""
        if self.buf:
            raise AssertionError(f"plaintext after the 220 to STARTTLS: {self.buf!r}")
        self.sock = tls_client_context().wrap_socket(self.sock)
        return self.sock

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _read_line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise SmtpClosed(f"connection closed; unparsed bytes {self.buf!r}")
            self.buf += chunk
            if len(self.buf) > (1 << 20):
                raise AssertionError("reply line over 1 MiB")
        line, self.buf = self.buf.split(b"\n", 1)
        if not line.endswith(b"\r"):
            raise AssertionError(f"reply line without CRLF: {line!r}")
        return line[:-1].decode("utf-8", "replace")

    def read_reply(self):
        lines = []
        for _ in range(1000):  # bound on lines per reply
            line = self._read_line()
            if len(line) < 3 or not line[:3].isdigit() or (len(line) > 3 and line[3] not in " -"):
                raise AssertionError(f"malformed reply line {line!r}")
            if lines and line[:3] != lines[0][:3]:
                raise AssertionError(f"reply code changed inside a reply: {lines + [line]}")
            lines.append(line)
            if len(line) == 3 or line[3] == " ":
                return Reply(lines)
        raise AssertionError("reply over 1000 lines")

    def read_replies(self, n):
        return [self.read_reply() for _ in range(n)]

    def cmd(self, line):
        """Sends one command line (CRLF added) and reads its reply."""
        self.send(line.encode() + b"\r\n" if isinstance(line, str) else line + b"\r\n")
        return self.read_reply()

    def ehlo(self, name="client.example"):
        reply = self.cmd("EHLO " + name)
        if reply.code != 250:
            raise AssertionError(f"EHLO: {reply}")
        return reply

    def pending(self, wait_s=0.2):
        """Bytes the server sent that no reply read has consumed (waits up to wait_s)."""
        ready, _, _ = select.select([self.sock], [], [], wait_s)
        if ready:
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                chunk = b""
            self.buf += chunk
        return self.buf

    def wait_eof(self, timeout_s=IO_TIMEOUT_S):
        """Reads until the server closes; returns what came before. Fails on the bound."""
        deadline = time.monotonic() + scaled(timeout_s)
        data = self.buf
        self.buf = b""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.sock], [], [], 0.5)
            if not ready:
                continue
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                return data
            if not chunk:
                return data
            data += chunk
        raise AssertionError(f"server did not close within {scaled(timeout_s):.0f}s; got {data!r}")

    def send_message(self, sender, recipients, body, mail_params=""):
        """MAIL, RCPT..., DATA, body (bytes with CRLF, dot-stuffed by the caller), '.'.
        Returns the reply to the end of data; fails if a step before it is refused."""
        reply = self.cmd(f"MAIL FROM:<{sender}>" + (" " + mail_params if mail_params else ""))
        if reply.code != 250:
            raise AssertionError(f"MAIL: {reply}")
        for rcpt in recipients:
            reply = self.cmd(f"RCPT TO:<{rcpt}>")
            if reply.code != 250:
                raise AssertionError(f"RCPT {rcpt}: {reply}")
        reply = self.cmd("DATA")
        if reply.code != 354:
            raise AssertionError(f"DATA: {reply}")
        if isinstance(body, str):
            body = body.encode()
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        self.send(body + b".\r\n")
        return self.read_reply()


def tls_client_context():
    """A client context that accepts the tests' self-signed certificates (opportunistic TLS,
    as MTAs do by default)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def make_certificate(directory, common_name="mx.tern.test", name="server"):
    """A fresh self-signed EC P-256 certificate and key (openssl CLI): (cert path, key path)."""
    cert = os.path.join(directory, f"{name}.crt")
    key = os.path.join(directory, f"{name}.key")
    done = run_tool(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                     "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj",
                     f"/CN={common_name}", "-keyout", key, "-out", cert])
    if done.returncode != 0:
        raise AssertionError(f"openssl req failed: {done.stderr.decode(errors='replace')}")
    return cert, key


def make_body(subject, text="Hello from the integration tests.", extra_headers=()):
    lines = [f"From: sender@example.com", f"To: rcpt@example.net", f"Subject: {subject}"]
    lines += list(extra_headers)
    lines += ["", text]
    return ("\r\n".join(lines) + "\r\n").encode()


# ---------------------------------------------------------------------------------------
# The daemon.

class Ternd:
    """One ternd process on loopback ports chosen by the kernel, with its own spool."""

    def __init__(self, flags=(), workdir=None, shards=2, listen=("127.0.0.1:0",),
                 spool_dir=None, deliver=False, binary=None, launcher=()):
        # Without deliver=True, ternd only accepts and keeps mail (--deliver=false): tests of
        # the receiving side must not send anything anywhere.
        self.flags = ([] if deliver else ["--deliver=false"]) + list(flags)
        self.binary = binary or TERND
        # Runs ternd through this command (a seccomp launcher, say): launcher + [ternd, ...].
        self.launcher = list(launcher)
        self.listen = list(listen)
        self.shards = shards
        self.owns_workdir = workdir is None
        self.workdir = workdir or tempfile.mkdtemp(prefix="tern-it-")
        self.spool_dir = spool_dir or os.path.join(self.workdir, "spool")
        self.ready_file = os.path.join(self.workdir, "ready")
        self.delivery_log = os.path.join(self.workdir, "delivery.jsonl")
        self.stderr_path = os.path.join(self.workdir, "ternd.stderr")
        self.proc = None
        self.smtp_port = None
        self.smtp_addresses = []  # [(host, port)] as in the ready file
        self.ports = {}  # "smtp", "submission", "smtps" -> [port], as in the ready file
        self.admin_port = None
        self.pid = None
        self.starts = 0

    def spool_contains(self, needle):
        """Whether some spool segment holds `needle` (bytes): a header ternd stored, say."""
        for root, _, files in os.walk(self.spool_dir):
            for name in files:
                with open(os.path.join(root, name), "rb") as f:
                    if os.fstat(f.fileno()).st_size == 0:
                        continue
                    with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
                        if m.find(needle) >= 0:
                            return True
        return False

    def delivery_events(self):
        """The delivery log's events, parsed (one JSON object per line)."""
        if not os.path.exists(self.delivery_log):
            return []
        with open(self.delivery_log) as f:
            return [json.loads(line) for line in f if line.strip()]

    # -- life cycle -----------------------------------------------------------------------

    def command(self):
        engine = [f"--io_engine={IO_ENGINE}"] if IO_ENGINE else []
        return self.launcher + [
            self.binary, "--listen=" + ",".join(self.listen), "--admin_listen=127.0.0.1:0",
            f"--spool_dir={self.spool_dir}", f"--ready_file={self.ready_file}",
            f"--delivery_log={self.delivery_log}", f"--shards={self.shards}"] + engine + self.flags

    def start(self):
        assert self.proc is None or self.proc.poll() is not None, "ternd is already running"
        for path in (self.ready_file, self.ready_file + ".tmp"):
            if os.path.exists(path):
                os.unlink(path)
        self.starts += 1
        with open(self.stderr_path, "ab") as err:
            err.write(f"==== start {self.starts}: {' '.join(self.command())}\n".encode())
            err.flush()
            self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                         stdout=err, stderr=err, cwd=self.workdir)
        deadline = time.monotonic() + scaled(START_TIMEOUT_S)
        while not os.path.exists(self.ready_file):
            if self.proc.poll() is not None:
                raise AssertionError(f"ternd exited with {self.proc.returncode} before ready:\n"
                                     + self.log_tail())
            if time.monotonic() >= deadline:
                self.kill9()
                raise AssertionError("ternd not ready within bound:\n" + self.log_tail())
            time.sleep(0.02)
        fields = {}
        self.smtp_addresses = []
        self.ports = {}
        with open(self.ready_file) as f:
            for line in f:
                key, _, value = line.strip().partition("=")
                fields.setdefault(key, value)
                if key in ("smtp", "submission", "smtps"):
                    host, _, port = value.rpartition(":")
                    self.ports.setdefault(key, []).append(int(port))
                if key == "smtp":
                    self.smtp_addresses.append((host.strip("[]"), int(port)))
        self.smtp_port = self.smtp_addresses[0][1]
        self.admin_port = int(fields["admin"].rsplit(":", 1)[1])
        self.pid = int(fields["pid"])
        assert self.pid == self.proc.pid, (self.pid, self.proc.pid)
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout_s=STOP_TIMEOUT_S):
        """SIGTERM and wait; SIGKILL and fail if it does not exit in time. Returns the exit
        code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=scaled(timeout_s))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
                raise AssertionError(f"ternd did not exit within {scaled(timeout_s):.0f}s of "
                                     "SIGTERM (killed)\n" + self.log_tail())
        return self.proc.returncode

    def kill9(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)

    def restart(self):
        """Stops (SIGTERM, must exit 0) if running, then starts on the same spool."""
        if self.running():
            rc = self.stop()
            if rc != 0:
                raise AssertionError(f"ternd exited {rc} on SIGTERM\n" + self.log_tail())
        return self.start()

    def cleanup(self):
        self.kill9()
        if self.owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def log(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, max_bytes=20000):
        text = self.log()
        return text if len(text) <= max_bytes else "...\n" + text[-max_bytes:]

    # -- clients ---------------------------------------------------------------------------

    def smtp(self, **kwargs):
        """A client on the first --listen address (host= and port= choose another)."""
        kwargs.setdefault("host", self.smtp_addresses[0][0])
        return SmtpClient(kwargs.pop("port", self.smtp_port), **kwargs)

    def admin(self):
        return f"127.0.0.1:{self.admin_port}"

    def http_get(self, target, timeout_s=IO_TIMEOUT_S):
        """(status, body text) of GET target on the admin endpoint."""
        url = f"http://{self.admin()}{target}"
        try:
            with urllib.request.urlopen(url, timeout=scaled(timeout_s)) as r:
                return r.status, r.read().decode("utf-8")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode("utf-8", "replace")

    def http(self, method, target, headers=None, body=None, timeout_s=IO_TIMEOUT_S):
        """(status, body text, headers) of one request to the admin endpoint. A POST says it
        comes from a tool (X-Tern-Request: 1, what ternctl sends) unless `headers` holds
        X-Tern-Request (None: leave it out, as a browser would)."""
        headers = dict(headers or {})
        if method == "POST":
            headers.setdefault("X-Tern-Request", "1")
        headers = {k: v for k, v in headers.items() if v is not None}
        request = urllib.request.Request(f"http://{self.admin()}{target}", data=body,
                                         headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=scaled(timeout_s)) as r:
                return r.status, r.read().decode("utf-8"), r.headers
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode("utf-8", "replace"), e.headers

    def metrics(self):
        status, body = self.http_get("/metrics")
        if status != 200:
            raise AssertionError(f"/metrics answered {status}: {body}")
        return Metrics(body)

    def ternctl(self, *args, check=True):
        """Runs ternctl --admin=... ARGS; returns the CompletedProcess (stdout as text)."""
        proc = run_tool([TERNCTL, f"--admin={self.admin()}"] + list(args))
        if check and proc.returncode != 0:
            raise AssertionError(f"ternctl {' '.join(args)} exited {proc.returncode}: "
                                 f"{proc.stderr.decode(errors='replace')}")
        proc.stdout = proc.stdout.decode("utf-8", "replace")
        proc.stderr = proc.stderr.decode("utf-8", "replace")
        return proc

    def queue_json(self, limit=1000000):
        proc = self.ternctl("queue", "--json", f"--limit={limit}")
        return json.loads(proc.stdout)

    def queue_by_id(self, limit=1000000):
        """{id: message} of the queue; fails if an id appears twice."""
        queue = self.queue_json(limit)
        out = {}
        for m in queue["messages"]:
            if m["id"] in out:
                raise AssertionError(f"queue id {m['id']} listed twice")
            out[m["id"]] = m
        return out


class TerndTestCase(unittest.TestCase):
    """A TestCase whose daemons are stopped after each test (a non-zero exit on SIGTERM
    fails the test) and whose daemon logs are printed when the test fails. Other processes
    a test starts (tern-bench sinks, say) can be tracked the same way with track()."""

    def run(self, result=None):
        self._tracked = []  # (what, log function, cleanup function)
        if result is None:
            result = self.defaultTestResult()
        bad_before = len(result.failures) + len(result.errors)
        try:
            return super().run(result)
        finally:
            failed = len(result.failures) + len(result.errors) > bad_before
            for what, log, cleanup in self._tracked:
                if failed:
                    sys.stderr.write(f"\n---- {what} ----\n{log()}---- end of {what} ----\n")
                cleanup()

    def track(self, what, log, cleanup):
        """After the test: cleanup(), and log() printed first if the test failed."""
        self._tracked.append((what, log, cleanup))

    def start_ternd(self, *flags, workdir=None, shards=2, listen=("127.0.0.1:0",),
                    spool_dir=None, deliver=False, binary=None, launcher=()):
        d = Ternd(flags, workdir=workdir, shards=shards, listen=listen, spool_dir=spool_dir,
                  deliver=deliver, binary=binary, launcher=launcher)
        self.track(f"ternd stderr ({d.workdir})", d.log_tail, d.cleanup)
        self.addCleanup(self._stop_daemon, d)
        return d.start()

    def _stop_daemon(self, d):
        if d.running():
            rc = d.stop()
            self.assertEqual(rc, 0, "ternd exited non-zero on SIGTERM")

    def assertReply(self, reply, code, enhanced=None, msg=None):
        """Asserts the reply code and, when given, the enhanced status code."""
        if isinstance(code, int):
            code = (code,)
        detail = f"got {reply.text!r}" + (f" ({msg})" if msg else "")
        self.assertIn(reply.code, code, detail)
        if enhanced is not None:
            self.assertEqual(reply.enhanced, enhanced, detail)

    def assertTerndRefuses(self, flags, expected, spool_dir):
        """ternd with `flags` (and a throwaway spool) exits 2 at start-up, saying `expected`."""
        done = run_tool([TERND, "--listen=127.0.0.1:0", "--admin_listen=",
                         f"--spool_dir={spool_dir}", "--delivery_log="] + list(flags))
        err = done.stderr.decode(errors="replace")
        self.assertEqual(done.returncode, 2, err)
        self.assertIn(expected, err)

    def assertQueued(self, reply, msg=None):
        """Asserts a 250 "queued as <16 hex>" and returns the id."""
        self.assertReply(reply, 250, "2.0.0", msg)
        qid = reply.queue_id()
        self.assertIsNotNone(qid, f"no 'queued as <16 hex>' in {reply.text!r}")
        return qid
