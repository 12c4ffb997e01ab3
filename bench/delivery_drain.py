#!/usr/bin/python3
"""Delivery against acceptance, in one run (issue 17: "drain >= 0.9x accept").

Each run starts a fresh ternd (harness defaults: 2 shards, fdatasync on, its own spool,
delivery log off) smarthosting to one `tern-bench sink` that exits once it has answered 250
to N messages (--exit_after):

  accept  ternd runs with --deliver=false; `tern-bench source` (--connections, --size)
          queues N messages; rate = N / the source's wall time (first connect to last 250).
  drain   ternd is stopped and started again on the same spool with delivery on; rate = N /
          (ready -> the sink's exit): the queue of N drained to the sink.
  relay   (--mode=relay) a fresh ternd with delivery on; the source and the delivery run at
          once; rate = N / (first message sent -> the sink's exit): end to end.

While delivering, the admin endpoint is polled every 0.25 s: per shard, the transactions
and the open connections; the summary gives each shard's share of the transactions, the
peak connections per shard, and the longest stretch (seconds) with no transaction at all
before the last one (a stall). ternd's CPU time over the delivery phase / N gives the CPU
per message (both shards, user + system; on loopback it includes the kernel's TCP work
for both ends' sends, run in ternd's context).

One JSON line per run on stdout, then a summary line with the medians and, in drain mode,
the ratio drain / accept of each run (the issue wants >= 0.9):

    /usr/bin/python3 bench/delivery_drain.py                       # 3 runs, 40,000 x 4 KiB
    /usr/bin/python3 bench/delivery_drain.py --mode=relay --messages=20000
    /usr/bin/python3 bench/delivery_drain.py --ternd_flags="--shards=1"

Loopback only; every process it starts is stopped, bounded.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

import ternd_harness  # noqa: E402
from test_bench_sink import BenchSink, parse_summary  # noqa: E402

RUN_TIMEOUT_S = 600
STOP_TIMEOUT_S = 60
POLL_INTERVAL_S = 0.25


def log(text):
    sys.stderr.write(f"delivery_drain: {text}\n")
    sys.stderr.flush()


def cpu_seconds(pid):
    """User + system CPU of the process (all threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


class Poller(threading.Thread):
    """Reads per-shard transactions and open connections from the admin endpoint."""

    def __init__(self, admin_port):
        super().__init__(daemon=True)
        self.url = f"http://127.0.0.1:{admin_port}/metrics"
        self.samples = []  # (monotonic time, {shard: transactions}, {shard: connections})
        self.stop_event = threading.Event()

    def run(self):
        while not self.stop_event.is_set():
            try:
                with urllib.request.urlopen(self.url, timeout=2) as response:
                    metrics = ternd_harness.Metrics(response.read().decode())
                self.samples.append(
                    (time.monotonic(),
                     metrics.by_label("tern_delivery_transactions_total", "shard"),
                     metrics.by_label("tern_delivery_open_connections", "shard")))
            except OSError:
                pass
            self.stop_event.wait(POLL_INTERVAL_S)

    def finish(self):
        self.stop_event.set()
        self.join(timeout=10)

    def timeline(self):
        """One line per sample: seconds since the first, transactions and connections per shard."""
        if not self.samples:
            return ""
        t0 = self.samples[0][0]
        return "\n".join(f"{t - t0:6.2f}s tx={dict(sorted(tx.items()))} "
                         f"connections={dict(sorted(c.items()))}" for t, tx, c in self.samples)

    def summary(self):
        if not self.samples:
            return {}
        last = self.samples[-1][1]
        total = sum(last.values()) or 1
        shards = sorted(last)
        peak = {s: max(c.get(s, 0) for _, _, c in self.samples) for s in shards}
        # The longest stretch without a transaction, before the last transaction.
        longest = 0.0
        stalled_since = None
        done_at = next((t for t, tx, _ in self.samples if sum(tx.values()) >= total), None)
        previous = None
        for t, tx, _ in self.samples:
            if done_at is not None and t > done_at:
                break
            count = sum(tx.values())
            if previous is not None and count == previous and count > 0:
                stalled_since = stalled_since or t - POLL_INTERVAL_S
                longest = max(longest, t - stalled_since)
            else:
                stalled_since = None
            previous = count
        return {"shard_share": {s: round(last[s] / total, 3) for s in shards},
                "peak_connections": {s: int(peak[s]) for s in shards},
                "longest_stall_s": round(longest, 2)}


def run_source(args, port):
    cmd = [args.tern_bench, "source", f"--target=127.0.0.1:{port}",
           f"--connections={args.connections}", f"--messages={args.messages}",
           f"--size={args.size}", "--to=user@example.net", "--sender=bench@sender.test",
           "--quiet", "--json"]
    return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish_source(source, label):
    out, err = source.communicate(timeout=RUN_TIMEOUT_S)
    if source.returncode != 0:
        raise SystemExit(f"{label}: tern-bench source exited {source.returncode}: {err[-2000:]}")
    return json.loads(out)


def deliver(args, label, d, sink, source=None):
    """Runs delivery until the sink exits; returns (seconds, cpu seconds, poll summary)."""
    poller = Poller(d.admin_port)
    poller.start()
    cpu_before = cpu_seconds(d.pid)
    started = time.monotonic()
    if args.mode == "relay":
        source = run_source(args, d.smtp_port)
    try:
        sink.proc.wait(timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise SystemExit(f"{label}: the sink did not count {args.messages} messages in "
                         f"{RUN_TIMEOUT_S}s\n{d.log_tail(4000)}")
    seconds = time.monotonic() - started
    cpu = cpu_seconds(d.pid) - cpu_before
    poller.finish()
    if args.timeline:
        log(f"{label} timeline:\n{poller.timeline()}")
    if source is not None:
        finish_source(source, label)
    return seconds, cpu, poller.summary()


def one_run(args, label):
    sink = BenchSink(flags=[f"--exit_after={args.messages}"], record=False)
    d = None
    try:
        sink.start()
        flags = [f"--smarthost=[127.0.0.1]:{sink.port}"] + args.ternd_flags.split()
        d = ternd_harness.Ternd(flags, deliver=args.mode == "relay", shards=args.shards,
                                binary=args.ternd)
        d.delivery_log = ""  # off: no disk noise from it
        result = {"run": label, "mode": args.mode, "messages": args.messages,
                  "size": args.size, "connections": args.connections}
        d.start()
        if args.mode == "drain":
            accepted = finish_source(run_source(args, d.smtp_port), label)
            if accepted["delivered"] != args.messages:
                raise SystemExit(f"{label}: ternd accepted {accepted['delivered']} of {args.messages}")
            result["accept_msgs_per_s"] = accepted["msgs_per_s"]
            rc = d.stop(timeout_s=STOP_TIMEOUT_S)
            if rc != 0:
                raise SystemExit(f"{label}: ternd exited {rc}:\n{d.log_tail(4000)}")
            d.flags = [f for f in d.flags if f != "--deliver=false"]
            d.start()
        seconds, cpu, polled = deliver(args, label, d, sink)
        summary = parse_summary(sink.stdout())
        rc = d.stop(timeout_s=STOP_TIMEOUT_S)
        if rc != 0:
            log(f"{label}: ternd exited {rc} on SIGTERM:\n{d.log_tail(4000)}")
        result.update({"seconds": round(seconds, 3),
                       "msgs_per_s": round(args.messages / seconds, 1),
                       "cpu_us_per_msg": round(cpu * 1e6 / args.messages, 1),
                       "sink_messages": summary["messages"],
                       "sink_connections": summary["connections"]})
        result.update(polled)
        if args.mode == "drain":
            result["drain_to_accept"] = round(result["msgs_per_s"] /
                                              result["accept_msgs_per_s"], 3)
        return result
    except BaseException:
        if d is not None:
            log(f"{label}: ternd log:\n{d.log_tail(4000)}")
        raise
    finally:
        if d is not None:
            d.cleanup()
        sink.cleanup()


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=("drain", "relay"), default="drain")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--messages", type=int, default=40000)
    parser.add_argument("--connections", type=int, default=50, help="generator connections")
    parser.add_argument("--size", default="4096", help="message size (tern-bench --size)")
    parser.add_argument("--shards", type=int, default=2)
    parser.add_argument("--ternd", default=os.path.join(REPO, "build", "bin", "ternd"))
    parser.add_argument("--tern_bench",
                        default=os.path.join(REPO, "build", "bin", "tern-bench"))
    parser.add_argument("--ternd_flags", default="", help="extra ternd flags (one string)")
    parser.add_argument("--timeline", action="store_true",
                        help="print the polled series of each run on stderr")
    args = parser.parse_args()
    if args.runs <= 0 or args.messages <= 0 or args.connections <= 0:
        parser.error("--runs, --messages and --connections must be positive")
    for path, target in ((args.ternd, "ternd"), (args.tern_bench, "tern-bench")):
        if not os.access(path, os.X_OK):
            parser.error(f"{path} missing: ninja -C build {target}")
    ternd_harness.TERN_BENCH = args.tern_bench  # BenchSink runs it
    results = []
    for index in range(args.runs):
        result = one_run(args, f"{args.mode}{index + 1}")
        results.append(result)
        print(json.dumps(result), flush=True)
    line = {"summary": True, "mode": args.mode,
            "median_msgs_per_s": statistics.median(r["msgs_per_s"] for r in results),
            "median_cpu_us_per_msg": statistics.median(r["cpu_us_per_msg"] for r in results),
            "longest_stalls_s": [r.get("longest_stall_s") for r in results]}
    if args.mode == "drain":
        line["median_accept_msgs_per_s"] = statistics.median(r["accept_msgs_per_s"]
                                                             for r in results)
        line["drain_to_accept"] = [r["drain_to_accept"] for r in results]
    print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
