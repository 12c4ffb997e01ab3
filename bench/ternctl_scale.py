"""How long ternctl takes with a big queue: fills a ternd (--deliver=false, so nothing
leaves) with --messages small messages through tern-bench, plus a handful to a rare
domain, then times each ternctl command (median of --repeats runs, wall clock including
ternctl's own start) and reports ternd's RSS. The issue's bar: every answer within a
second with a million messages queued.

    /usr/bin/python3 bench/ternctl_scale.py                       # 1,000,000 messages
    /usr/bin/python3 bench/ternctl_scale.py --messages=100000 --bin=build-dev/bin

The spool goes under var/ (about 0.6 KiB of disk per message here) and is deleted after.
"""

import argparse
import os
import shutil
import signal
import smtplib
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def wait_ready(path, proc, timeout_s=60):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"ternd exited {proc.returncode}")
        if os.path.exists(path):
            lines = dict(l.split("=", 1) for l in open(path).read().split() if "=" in l)
            if "admin" in lines:
                return lines
        time.sleep(0.1)
    sys.exit("ternd did not become ready")


def rss_mib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(REPO, "build", "bin"))
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--size", default="512")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--workdir", default=os.path.join(REPO, "var", "bench-ternctl"))
    args = ap.parse_args()
    ternd, ternctl, bench = (os.path.join(args.bin, n) for n in ("ternd", "ternctl", "tern-bench"))
    shutil.rmtree(args.workdir, ignore_errors=True)
    os.makedirs(args.workdir)
    ready = os.path.join(args.workdir, "ready")
    log = open(os.path.join(args.workdir, "ternd.log"), "w")
    proc = subprocess.Popen([ternd, "--listen=127.0.0.1:0", "--admin_listen=127.0.0.1:0",
                             f"--spool_dir={args.workdir}/spool", f"--ready_file={ready}",
                             "--delivery_log=", "--deliver=false", "--spool_sync=none",
                             "--max_connections_per_ip=0"], stderr=log)
    try:
        lines = wait_ready(ready, proc)
        smtp, admin = lines["smtp"].split(",")[0], lines["admin"]
        rss_empty = rss_mib(proc.pid)
        start = time.monotonic()
        subprocess.run([bench, "source", f"--target={smtp}", "--connections=32",
                        f"--messages={args.messages}", f"--size={args.size}"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        host, port = smtp.rsplit(":", 1)
        with smtplib.SMTP(host, int(port), timeout=30) as s:
            for i in range(5):
                s.sendmail("ops@rare.test", [f"user{i}@rare.test"], f"Subject: rare {i}\r\n\r\nx\r\n")
        fill_s = time.monotonic() - start

        def ctl(*a):
            t = time.monotonic()
            out = subprocess.run([ternctl, f"--admin={admin}", *a], capture_output=True)
            took = time.monotonic() - t
            if out.returncode != 0:
                sys.exit(f"ternctl {' '.join(a)}: {out.stderr.decode()}")
            return took, out.stdout

        _, stdout = ctl("queue", "--domain=rare.test", "--json")
        import json
        rare = [m["id"] for m in json.loads(stdout)["messages"]]
        queued = json.loads(ctl("queue", "--json", "--limit=0")[1])["total"]
        cases = [
            ("queue --limit=20 (text)", ("queue", "--limit=20")),
            ("queue --json --limit=1000", ("queue", "--json", "--limit=1000")),
            ("queue --domain=rare.test (full scan)", ("queue", "--domain=rare.test")),
            ("queue --sender=nobody (full scan, no match)", ("queue", "--sender=nobody")),
            ("queue --state=held", ("queue", "--state=held")),
            ("show ID", ("show", rare[0])),
            ("hold ID", ("hold", rare[0])),
            ("release ID", ("release", rare[0])),
            ("hold --domain=rare.test (scan + 5 records)", ("hold", "--domain=rare.test")),
            ("release --domain=rare.test", ("release", "--domain=rare.test")),
            ("stats", ("stats",)),
            ("metrics", ("metrics",)),
        ]
        print(f"queued: {queued} messages (filled in {fill_s:.1f} s); ternd RSS "
              f"{rss_empty:.0f} MiB empty, {rss_mib(proc.pid):.0f} MiB full")
        print(f"{'command':48} {'median ms':>10} {'max ms':>8}")
        for name, argv in cases:
            times = [ctl(*argv)[0] * 1000 for _ in range(args.repeats)]
            print(f"{name:48} {statistics.median(times):10.1f} {max(times):8.1f}")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(args.workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
