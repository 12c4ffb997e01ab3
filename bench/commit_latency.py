#!/usr/bin/python3
"""Commit tail latency: ternd's p99 from end of data to 250 at a fixed open-loop rate, and
its group commits' p99 (write submitted to fdatasync done), with --segment_prefill=zero
against --segment_prefill=fallocate in one run (issue 17, section 5: p99 under 2 ms at half
the saturating load).

Each run starts a fresh ternd (harness defaults: 2 shards, its own spool under /tmp,
--deliver=false, no delivery log) with the mode's --segment_prefill, sends --warmup_messages
at the rate first (so that every shard is past its first segment, which is never zero-filled:
it is needed at once), scrapes /metrics, then sends for --seconds at the rate and scrapes
again: the commit figures are the difference of the two scrapes (the histogram's doubling
buckets, interpolated), the end-of-data figures are tern-bench's `data` phase (end of data
sent to the 250, measured from each message's planned arrival, so queueing counts).

Without --rate, one closed-loop run (--connections, 10 s, prefill=fallocate) measures the
saturating rate first and the rate is half of it. Runs alternate, A B B A A B ... (--rounds
pairs), so that a drift in the machine's load falls on both modes; one JSON line per run on
stdout, then the medians and the ratios zero/fallocate:

    /usr/bin/python3 bench/commit_latency.py
    /usr/bin/python3 bench/commit_latency.py --rate=6000 --rounds=3 --seconds=20

Loopback only; every process it starts is stopped, bounded. Needs build/bin/ternd and
build/bin/tern-bench (or --ternd / --tern_bench).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

import ternd_harness  # noqa: E402

STOP_TIMEOUT_S = 60
MODES = ("zero", "fallocate")
PREFILL_COUNTERS = ("tern_spool_segments_created_total", "tern_spool_segments_prefilled_total",
                    "tern_spool_segments_prefill_late_total", "tern_spool_prefill_errors_total",
                    "tern_spool_prefill_bytes_total", "tern_spool_commits_total",
                    "tern_spool_records_total")


def log(text):
    sys.stderr.write(f"commit_latency: {text}\n")
    sys.stderr.flush()


def buckets(metrics, name):
    """{upper bound in seconds: cumulative count} of histogram `name`, summed over shards."""
    out = {}
    for n, labels, value in metrics.samples:
        if n == name + "_bucket":
            le = float("inf") if labels["le"] == "+Inf" else float(labels["le"])
            out[le] = out.get(le, 0) + value
    return out


def quantile_ms(before, after, q):
    """Quantile `q` of the observations between two scrapes of one histogram, in ms:
    linear within the bucket it falls in (as Prometheus' histogram_quantile), and that
    bucket's upper bound."""
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0) for b in bounds]
    total = counts[-1]
    if total <= 0:
        return None, None
    rank = q * total
    lower, below = 0.0, 0
    for bound, cumulative in zip(bounds, counts):
        if cumulative >= rank:
            if bound == float("inf"):
                return lower * 1000, None
            share = (rank - below) / max(1, cumulative - below)
            return (lower + (bound - lower) * share) * 1000, bound * 1000
        lower, below = bound, cumulative
    return None, None


def bench_source(args, port, rate, messages=None, seconds=None, closed=False):
    cmd = [args.tern_bench, "source", f"--target=127.0.0.1:{port}",
           f"--connections={args.connections}", "--size=4k", "--json"]
    if not closed:
        cmd.append(f"--rate={rate}")
    if messages:
        cmd.append(f"--messages={messages}")
    if seconds:
        cmd.append(f"--duration={seconds}s")
    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=STOP_TIMEOUT_S + (seconds or 0) + (messages or 0) / max(rate, 1))
    if done.returncode != 0:
        raise SystemExit(f"tern-bench source exited {done.returncode}: {done.stderr[-2000:]}")
    return json.loads(done.stdout)


def start_ternd(args, mode):
    d = ternd_harness.Ternd([f"--segment_prefill={mode}"] + args.ternd_flags.split(),
                            shards=args.shards, binary=args.ternd)
    d.delivery_log = ""
    d.start()
    return d


def saturating_rate(args):
    d = start_ternd(args, "fallocate")
    try:
        summary = bench_source(args, d.smtp_port, 0, seconds=10, closed=True)
        return float(summary["msgs_per_s"])
    finally:
        d.cleanup()


def one_run(args, mode, rate, label):
    d = start_ternd(args, mode)
    try:
        bench_source(args, d.smtp_port, rate, messages=args.warmup_messages)
        before = d.metrics()
        load_before = os.getloadavg()[0]
        summary = bench_source(args, d.smtp_port, rate, seconds=args.seconds)
        after = d.metrics()
        data = summary["latency_ms"]["data"]
        commit_b, commit_a = (buckets(m, "tern_spool_commit_duration_seconds")
                              for m in (before, after))
        wait_b, wait_a = (buckets(m, "tern_spool_record_wait_seconds") for m in (before, after))
        commit_p99, commit_p99_bound = quantile_ms(commit_b, commit_a, 0.99)
        commit_p50, _ = quantile_ms(commit_b, commit_a, 0.50)
        wait_p99, _ = quantile_ms(wait_b, wait_a, 0.99)
        counters = {name.replace("tern_spool_", "").replace("_total", ""):
                    int(after.total(name) - before.total(name)) for name in PREFILL_COUNTERS}
        rc = d.stop(timeout_s=STOP_TIMEOUT_S)
        if rc != 0:
            log(f"{label}: ternd exited {rc} on SIGTERM:\n{d.log_tail(4000)}")
        return {"run": label, "prefill": mode, "rate": rate, "seconds": args.seconds,
                "msgs_per_s": float(summary["msgs_per_s"]), "failed": summary["failed"],
                "data_p50_ms": float(data["p50"]), "data_p99_ms": float(data["p99"]),
                "data_p999_ms": float(data["p99.9"]),
                "commit_p50_ms": round(commit_p50 or 0, 3),
                "commit_p99_ms": round(commit_p99 or 0, 3),
                "commit_p99_bucket_ms": commit_p99_bound,
                "record_wait_p99_ms": round(wait_p99 or 0, 3),
                "loadavg_1m": round(load_before, 2), **counters}
    except BaseException:
        log(f"{label}: ternd log:\n{d.log_tail(4000)}")
        raise
    finally:
        d.cleanup()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ternd", default=os.path.join(REPO, "build", "bin", "ternd"))
    parser.add_argument("--tern_bench", default=os.path.join(REPO, "build", "bin", "tern-bench"))
    parser.add_argument("--rate", type=float, default=0,
                        help="messages/s, open loop (default: half the measured saturating rate)")
    parser.add_argument("--rounds", type=int, default=3, help="pairs of runs (one per mode)")
    parser.add_argument("--seconds", type=int, default=20, help="measured seconds per run")
    parser.add_argument("--warmup_messages", type=int, default=40000,
                        help="sent before measuring: every shard past its first 64 MiB segment")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--shards", type=int, default=2)
    parser.add_argument("--ternd_flags", default="", help="extra ternd flags (one string)")
    args = parser.parse_args()
    rate = args.rate
    if rate <= 0:
        saturating = saturating_rate(args)
        rate = round(saturating / 2)
        log(f"saturating rate {saturating:.0f} msgs/s closed loop: measuring at {rate}/s")
    results = []
    for round_number in range(args.rounds):
        order = MODES if round_number % 2 == 0 else tuple(reversed(MODES))
        for mode in order:
            result = one_run(args, mode, rate, f"{round_number + 1}{mode[0]}")
            results.append(result)
            print(json.dumps(result), flush=True)
    print(f"medians over {args.rounds} runs each at {rate:.0f} msgs/s open loop, 4 KiB, "
          f"{args.connections} connections, {args.shards} shards:")
    keys = ("data_p50_ms", "data_p99_ms", "data_p999_ms", "commit_p50_ms", "commit_p99_ms",
            "record_wait_p99_ms", "segments_prefill_late", "loadavg_1m")
    medians = {}
    for mode in MODES:
        rows = [r for r in results if r["prefill"] == mode]
        medians[mode] = {k: statistics.median(r[k] for r in rows) for k in keys}
        print(f"  {mode:>9}: " + ", ".join(f"{k} {v:.2f}" for k, v in medians[mode].items()))
    for k in ("data_p99_ms", "commit_p99_ms", "record_wait_p99_ms"):
        if medians["fallocate"][k] > 0:
            print(f"  fallocate/zero {k}: {medians['fallocate'][k] / max(medians['zero'][k], 1e-9):.2f}x")
    pairs = [(a, b) for a, b in zip(results[0::2], results[1::2])]
    ratios = []
    for a, b in pairs:
        z, f = (a, b) if a["prefill"] == "zero" else (b, a)
        if z["data_p99_ms"] > 0:
            ratios.append(round(f["data_p99_ms"] / z["data_p99_ms"], 2))
    print(f"  per pair fallocate/zero data_p99: {ratios}")


if __name__ == "__main__":
    main()
