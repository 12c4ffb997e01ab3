#!/usr/bin/python3
"""Suppression overhead at RCPT: ternd's SMTP accept rate with a suppression list of
--entries entries (default 10 million) against an empty one, in one run (issue 18: "no
measurable change in SMTP accept rate with 10M entries loaded").

Two ternds run side by side (harness defaults: 2 shards, their own spools, --deliver=false,
delivery log off): A with an empty list, B with --entries addresses imported through
`ternctl suppress import` (a CSV written here; the import is timed and reported). Then
`tern-bench source` sends --messages messages of --recipients recipients each (every RCPT is
a lookup; none of them is on the list, as for most mail) to A, B, A, B ... (--rounds pairs).
One JSON line per run on stdout, then a summary with the medians and the ratio B/A (1.0:
no change), and ternd B's resident memory with the list loaded.

    /usr/bin/python3 bench/suppression_accept.py
    /usr/bin/python3 bench/suppression_accept.py --entries=1000000 --rounds=5

Loopback only; every process it starts is stopped, bounded.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

import ternd_harness  # noqa: E402

RUN_TIMEOUT_S = 600


def log(text):
    sys.stderr.write(f"suppression_accept: {text}\n")
    sys.stderr.flush()


def write_csv(path, entries):
    with open(path, "w") as f:
        f.write("address,scope,reason,created,expires,event\n")
        for start in range(0, entries, 100000):
            f.write("".join(f"u{i}@d{i % 5000}.example,,hard-bounce,,,bench\n"
                            for i in range(start, min(entries, start + 100000))))


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    return 0


def send(args, d, label):
    cmd = [args.tern_bench, "source", f"--target=127.0.0.1:{d.smtp_port}",
           f"--connections={args.connections}", f"--messages={args.messages}",
           f"--recipients={args.recipients}", f"--size={args.size}",
           "--to=someone@recipients.example", "--quiet", "--json"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    if done.returncode != 0:
        raise SystemExit(f"{label}: tern-bench source exited {done.returncode}: "
                         f"{done.stderr[-2000:]}")
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    return summary


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=5, help="A/B pairs")
    parser.add_argument("--messages", type=int, default=20000, help="messages per run")
    parser.add_argument("--recipients", type=int, default=10, help="recipients per message")
    parser.add_argument("--connections", type=int, default=40)
    parser.add_argument("--size", default="4k")
    parser.add_argument("--shards", type=int, default=2)
    parser.add_argument("--ternd", default=os.path.join(REPO, "build", "bin", "ternd"))
    parser.add_argument("--ternctl", default=os.path.join(REPO, "build", "bin", "ternctl"))
    parser.add_argument("--tern_bench",
                        default=os.path.join(REPO, "build", "bin", "tern-bench"))
    args = parser.parse_args()
    if args.entries <= 0 or args.rounds <= 0 or args.messages <= 0:
        parser.error("--entries, --rounds and --messages must be positive")
    ternd_harness.TERNCTL = args.ternctl
    daemons = []
    workdir = tempfile.mkdtemp(prefix="tern-suppression-accept-")
    csv = os.path.join(workdir, "list.csv")
    try:
        for label in ("A", "B"):
            d = ternd_harness.Ternd(["--max_recipients=1000"], shards=args.shards,
                                    binary=args.ternd)
            d.delivery_log = ""
            daemons.append(d.start())
        a, b = daemons
        started = time.monotonic()
        write_csv(csv, args.entries)
        log(f"wrote {args.entries} entries ({os.path.getsize(csv) >> 20} MiB) in "
            f"{time.monotonic() - started:.1f}s; importing into B")
        started = time.monotonic()
        b.ternctl("suppress", "import", csv, check=True)
        import_s = time.monotonic() - started
        loaded = int(b.metrics().total("tern_suppression_entries"))
        if loaded != args.entries:
            raise SystemExit(f"B holds {loaded} entries, not {args.entries}")
        log(f"imported in {import_s:.1f}s; B's RSS {rss_mib(b.proc.pid)} MiB, "
            f"A's {rss_mib(a.proc.pid)} MiB")
        rates = {"A": [], "B": []}
        for round_index in range(args.rounds):
            for label, d in (("A", a), ("B", b)):
                summary = send(args, d, label)
                rate = summary.get("msgs_per_s") or summary.get("messages_per_second")
                rates[label].append(rate)
                print(json.dumps({"run": f"{label}{round_index + 1}",
                                  "entries": args.entries if label == "B" else 0,
                                  "msgs_per_s": rate,
                                  "recipients_per_s": round(rate * args.recipients, 1)}),
                      flush=True)
        median_a = statistics.median(rates["A"])
        median_b = statistics.median(rates["B"])
        print(json.dumps({"summary": True, "entries": args.entries,
                          "import_seconds": round(import_s, 1),
                          "rss_mib_with_list": rss_mib(b.proc.pid),
                          "rss_mib_without": rss_mib(a.proc.pid),
                          "empty_msgs_per_s": rates["A"], "loaded_msgs_per_s": rates["B"],
                          "median_empty": median_a, "median_loaded": median_b,
                          "ratio_loaded_to_empty": round(median_b / median_a, 3)}),
              flush=True)
    finally:
        for d in daemons:
            d.stop()
            d.cleanup()
        if os.path.exists(csv):
            os.unlink(csv)
        os.rmdir(workdir)


if __name__ == "__main__":
    main()
