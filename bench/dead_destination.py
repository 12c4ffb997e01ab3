#!/usr/bin/python3
"""Dead destination: how many connections a relay opens to a receiver that refuses every
connection at its greeting.

For each MTA (ternd, Postfix): start a recording sink (tests/integration/recording_sink.py)
that answers every connection with `421 4.7.0 ...` instead of its 220 greeting, start the
MTA relaying the domain dead.test to it, queue N messages for dead.test into the MTA
(tern-bench source, 10 connections), and count the connections the MTA opens to the sink
from the first message on, for T seconds. One JSON line per MTA on stdout:

    {"mta": "ternd", "connections": 1924, "messages_queued": 2000, "seconds": 25, ...}

A good citizen opens a handful (Postfix: a few, then it marks the destination dead and
waits); a relay that tries every message on its own connection opens about one per message.

    sudo /usr/bin/python3 bench/dead_destination.py                      # ternd and Postfix
    /usr/bin/python3 bench/dead_destination.py --mta=ternd --messages=500 --seconds=10

ternd runs with its defaults plus --route=dead.test=[127.0.0.1]:PORT (and --ternd_flags);
Postfix (root only) is a private instance like bench/compare_postfix.sh's relay mode: its
own configuration and queue, smtpd on a loopback port, and a transport map sending
dead.test to the sink through its stock smtp(8) client (default retry and dead-destination
settings).
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

from recording_sink import RecordingSink  # noqa: E402
import ternd_harness  # noqa: E402

DOMAIN = "dead.test"
START_TIMEOUT_S = 30
STOP_TIMEOUT_S = 30
INJECT_CONNECTIONS = 10


def log(text):
    sys.stderr.write(f"dead_destination: {text}\n")
    sys.stderr.flush()


def inject(tern_bench, port, messages, size):
    """Queues `messages` for DOMAIN through the MTA's SMTP port; returns (messages the MTA
    accepted, tern-bench's summary)."""
    args = [tern_bench, "source", f"--target=127.0.0.1:{port}",
            f"--connections={INJECT_CONNECTIONS}", f"--messages={messages}",
            f"--size={size}", f"--to=user@{DOMAIN}", "--sender=bench@example.com",
            "--quiet", "--json"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=600)
    summary = None
    for line in done.stdout.splitlines():
        if line.startswith("{"):
            summary = json.loads(line)
    if done.returncode != 0 or summary is None:
        log(f"tern-bench exited {done.returncode}: {done.stderr[-2000:]}")
    accepted = messages if done.returncode == 0 else 0
    if summary is not None:
        for key in ("messages_ok", "ok", "delivered", "accepted"):
            if isinstance(summary.get(key), int):
                accepted = summary[key]
                break
    return accepted, summary


def count_window(sink, started, seconds):
    """Sleeps until `seconds` after `started`; returns the connections the sink accepted
    in that window."""
    time.sleep(max(0.0, started + seconds - time.monotonic()))
    end = started + seconds
    return sum(1 for c in sink.connections() if started <= c.opened_at <= end)


# ---------------------------------------------------------------------------------------
# ternd

def run_ternd(args, sink):
    d = ternd_harness.Ternd(
        [f"--route={DOMAIN}=[127.0.0.1]:{sink.port}"] + args.ternd_flags.split(),
        deliver=True, shards=args.shards, binary=args.ternd)
    d.delivery_log = ""  # off: thousands of deferrals are not what is measured
    try:
        d.start()
        started = time.monotonic()
        queued, _ = inject(args.tern_bench, d.smtp_port, args.messages, args.size)
        injected_s = time.monotonic() - started
        connections = count_window(sink, started, args.seconds)
        metrics = d.metrics()
        extra = {
            "connections_opened_metric": int(metrics.total("tern_delivery_connections_total",
                                                           result="opened")),
            "connections_failed_metric": int(metrics.total("tern_delivery_connections_total",
                                                           result="failed")),
            "queued_metric": int(metrics.total("tern_queue_messages")),
        }
        rc = d.stop(timeout_s=STOP_TIMEOUT_S)
        if rc != 0:
            log(f"ternd exited {rc} on SIGTERM:\n{d.log_tail(4000)}")
        return connections, queued, injected_s, extra
    except BaseException:
        log(f"ternd log:\n{d.log_tail(4000)}")
        raise
    finally:
        d.cleanup()


# ---------------------------------------------------------------------------------------
# Postfix

MAIN_CF = """\
# Written by bench/dead_destination.py: a throw-away relay sending {domain} to the sink.
compatibility_level = 3.6
queue_directory = {dir}/queue
data_directory = {dir}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix-dead.localdomain
mydomain = localdomain
myorigin = $myhostname
mydestination =
relayhost =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
smtpd_client_restrictions =
smtpd_helo_restrictions =
smtpd_sender_restrictions =
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions =
transport_maps = inline:{{ {domain}=smtp:[127.0.0.1]:{sink_port} }}
default_transport = smtp
relay_transport = smtp
alias_maps =
alias_database =
local_recipient_maps =
biff = no
default_process_limit = 100
maillog_file = {dir}/data/maillog
maillog_file_prefixes = {dir}
"""

MASTER_CF = """\
127.0.0.1:{port} inet n  -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
smtp      unix  -       -       n       -       -       smtp
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_greeting(port, timeout_s):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.settimeout(10)
                if s.recv(512).startswith(b"220"):
                    return True
        except OSError:
            time.sleep(0.1)
    return False


class Postfix:
    """A private Postfix instance under `workdir` (started as root, stopped bounded)."""

    def __init__(self, workdir, sink_port):
        self.dir = os.path.join(workdir, "postfix")
        self.conf = os.path.join(self.dir, "conf")
        self.sink_port = sink_port
        self.port = None
        self.master = None

    def start(self):
        for attempt in range(3):  # a free port can be taken before Postfix binds it
            self.port = free_port()
            shutil.rmtree(self.dir, ignore_errors=True)
            for sub in ("conf", "queue"):
                os.makedirs(os.path.join(self.dir, sub))
            for path in (os.path.dirname(self.dir), self.dir, self.conf,
                         os.path.join(self.dir, "queue")):
                os.chmod(path, 0o755)
            with open(os.path.join(self.conf, "main.cf"), "w") as f:
                f.write(MAIN_CF.format(dir=self.dir, domain=DOMAIN, sink_port=self.sink_port))
            with open(os.path.join(self.conf, "master.cf"), "w") as f:
                f.write(MASTER_CF.format(port=self.port))
            check = subprocess.run(["postfix", "-c", self.conf, "check"], capture_output=True,
                                   text=True, timeout=STOP_TIMEOUT_S)
            if check.returncode != 0:
                raise SystemExit(f"postfix check failed: {check.stdout}{check.stderr}")
            subprocess.run(["postfix", "-c", self.conf, "start"], capture_output=True,
                           timeout=START_TIMEOUT_S)
            pid_file = os.path.join(self.dir, "queue", "pid", "master.pid")
            deadline = time.monotonic() + START_TIMEOUT_S
            while time.monotonic() < deadline and not os.path.exists(pid_file):
                time.sleep(0.1)
            try:
                with open(pid_file) as f:
                    self.master = int(f.read().strip())
            except (OSError, ValueError):
                self.master = None
            if self.master and wait_greeting(self.port, START_TIMEOUT_S):
                return self
            log(f"postfix did not come up on port {self.port} (attempt {attempt + 1}):\n"
                + self.log_tail())
            self.stop()
        raise SystemExit("postfix did not start")

    def log_tail(self, lines=20):
        try:
            with open(os.path.join(self.dir, "data", "maillog")) as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return "(no maillog)"

    def children(self):
        if not self.master:
            return []
        done = subprocess.run(["pgrep", "-P", str(self.master)], capture_output=True,
                              text=True)
        return [int(p) for p in done.stdout.split()]

    def stop(self):
        if not self.master:
            return
        children = self.children()
        try:
            subprocess.run(["postfix", "-c", self.conf, "stop"], capture_output=True,
                           timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pass
        for pid in [self.master] + children:  # bounded, then SIGKILL: only our own
            deadline = time.monotonic() + STOP_TIMEOUT_S
            while time.monotonic() < deadline and os.path.exists(f"/proc/{pid}"):
                time.sleep(0.1)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.master = None


def run_postfix(args, sink):
    if os.geteuid() != 0:
        raise SystemExit("dead_destination: Postfix needs root (its daemons run as postfix)")
    if shutil.which("postfix") is None:
        raise SystemExit("dead_destination: postfix missing (see bench/README.md)")
    workdir = tempfile.mkdtemp(prefix="tern-dead-", dir=args.workdir)
    postfix = Postfix(workdir, sink.port)
    try:
        postfix.start()
        started = time.monotonic()
        queued, _ = inject(args.tern_bench, postfix.port, args.messages, args.size)
        injected_s = time.monotonic() - started
        connections = count_window(sink, started, args.seconds)
        deferred = sum(1 for line in postfix.log_tail(1000000).splitlines()
                       if "status=deferred" in line)
        return connections, queued, injected_s, {"deferrals_logged": deferred}
    finally:
        postfix.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            log(f"kept {workdir}")


# ---------------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mta", default="ternd,postfix", help="ternd, postfix or both")
    parser.add_argument("--messages", type=int, default=2000, help="messages queued")
    parser.add_argument("--seconds", type=float, default=25,
                        help="connections are counted for this long from the first message")
    parser.add_argument("--size", default="2k", help="message size (tern-bench --size)")
    parser.add_argument("--greeting", default="421 4.7.0 dead.test: try again later",
                        help="the sink's reply instead of its greeting")
    parser.add_argument("--ternd", default=os.path.join(REPO, "build", "bin", "ternd"))
    parser.add_argument("--tern_bench",
                        default=os.path.join(REPO, "build", "bin", "tern-bench"))
    parser.add_argument("--ternd_flags", default="", help="extra ternd flags (one string)")
    parser.add_argument("--shards", type=int, default=2)
    parser.add_argument("--workdir", default=None,
                        help="parent of Postfix's run folder (default: the system's tmp)")
    parser.add_argument("--keep", action="store_true", help="keep Postfix's run folder")
    args = parser.parse_args()
    if args.messages <= 0 or args.seconds <= 0:
        parser.error("--messages and --seconds must be positive")
    runners = {"ternd": run_ternd, "postfix": run_postfix}
    mtas = [m for m in args.mta.split(",") if m]
    for mta in mtas:
        if mta not in runners:
            parser.error(f"unknown MTA {mta!r} (ternd, postfix)")
    if not os.access(args.tern_bench, os.X_OK):
        parser.error(f"{args.tern_bench} missing: ninja -C build tern-bench")
    for mta in mtas:
        with RecordingSink(keep_bodies=False) as sink:
            sink.reply_to_greeting(args.greeting)
            log(f"{mta}: {args.messages} messages for {DOMAIN}, sink {sink.address} "
                f"answering {args.greeting!r}, counting for {args.seconds:g}s")
            connections, queued, injected_s, extra = runners[mta](args, sink)
            stats = sink.stats()
        result = {"mta": mta, "connections": connections, "messages_queued": queued,
                  "seconds": args.seconds, "inject_seconds": round(injected_s, 2),
                  "sink_connections_total": stats["connections"],
                  "sink_messages": stats["messages"]}
        result.update(extra)
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
