#!/usr/bin/python3
"""Durability soak (minutes; not part of CTest): clients send distinct messages through
ternd-faults (ternd over the fault-injecting storage: random fdatasync failures and torn
writes) to a recording sink, while ternd is killed with SIGKILL at random moments and
restarted on the same spool. At the end the queue is drained and it prints

    acknowledged / delivered / duplicates / lost / corrupt

and exits 1 if anything acknowledged was lost or changed. Every run prints its seed; the
same seed replays the same kill times and fault seeds (the load itself is timing-dependent).

    sudo-less, from the repository root, after a build with the tests (build/ or build-dev/):
    /usr/bin/python3 tests/integration/soak_durability.py --minutes=5
    /usr/bin/python3 tests/integration/soak_durability.py --seed=1234 --sync_fail_rate=0.01
"""
import argparse
import os
import random
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import ternd_harness as h  # noqa: E402
from recording_sink import RecordingSink  # noqa: E402
from test_relay_no_loss import DOMAIN, Sender, free_port  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))


def default_binary():
    for build in ("build-dev", "build"):
        path = os.path.join(REPO, build, "bin", "ternd-faults")
        if os.access(path, os.X_OK):
            return path
    return ""


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ternd_faults", default=default_binary(),
                        help="ternd-faults binary (default: build-dev/ or build/bin/)")
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--shards", type=int, default=2)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--sync_fail_rate", type=float, default=0.002,
                        help="probability that a group commit's fdatasync fails (451 4.3.0)")
    parser.add_argument("--torn_write_rate", type=float, default=0.001,
                        help="probability that a group commit's write is torn and fails")
    parser.add_argument("--kill_min_s", type=float, default=3.0)
    parser.add_argument("--kill_max_s", type=float, default=15.0)
    parser.add_argument("--drain_timeout_s", type=float, default=600.0)
    args = parser.parse_args()
    if not args.ternd_faults or not os.access(args.ternd_faults, os.X_OK):
        sys.exit("soak: build ternd-faults first (cmake --build build-dev), or pass "
                 "--ternd_faults PATH")
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 31)
    rng = random.Random(seed)
    print(f"soak: seed {seed} (replay: --seed={seed}), {args.minutes} minutes, "
          f"{args.clients} clients, sync failures {args.sync_fail_rate}, torn writes "
          f"{args.torn_write_rate}, a kill -9 every {args.kill_min_s}-{args.kill_max_s} s",
          flush=True)

    sink = RecordingSink().start()
    port = free_port()
    flags = [f"--route={DOMAIN}=[127.0.0.1]:{sink.port}", "--retry_schedule=1s",
             f"--fault_sync_fail_rate={args.sync_fail_rate}",
             f"--fault_torn_write_rate={args.torn_write_rate}"]
    d = h.Ternd(flags + [f"--fault_seed={rng.randrange(1 << 31)}"], shards=args.shards,
                listen=(f"127.0.0.1:{port}",), deliver=True, binary=args.ternd_faults)
    stop = threading.Event()
    senders = [Sender(port, range(i, 2_000_000, args.clients), stop)
               for i in range(args.clients)]
    kills = 0
    status = 0
    try:
        d.start()
        for s in senders:
            s.start()
        end = time.monotonic() + args.minutes * 60
        while time.monotonic() < end:
            time.sleep(min(rng.uniform(args.kill_min_s, args.kill_max_s),
                           max(0.0, end - time.monotonic())))
            if time.monotonic() >= end:
                break
            d.kill9()
            kills += 1
            d.flags[-1] = f"--fault_seed={rng.randrange(1 << 31)}"
            d.start()
            acked = sum(len(s.acked) for s in senders)
            print(f"soak: kill {kills}: {acked} acknowledged so far", flush=True)
        stop.set()
        for s in senders:
            s.join(timeout=120)
        acknowledged = {}
        for s in senders:
            acknowledged.update(s.acked)
        h.wait_for(lambda: d.metrics().total("tern_queue_messages") == 0,
                   args.drain_timeout_s, what="an empty queue")
        got = {}
        for m in sink.messages():
            got.setdefault(str(m.header("Message-ID")), []).append(m)
        lost = [mid for mid in acknowledged if mid not in got]
        corrupt = [mid for mid, body in acknowledged.items()
                   if mid in got and not all(m.body.endswith(body) for m in got[mid])]
        duplicates = sum(len(v) - 1 for v in got.values())
        m = d.metrics()
        print(f"soak: seed {seed}: acknowledged={len(acknowledged)} "
              f"delivered={sum(1 for mid in acknowledged if mid in got)} "
              f"duplicates={duplicates} lost={len(lost)} corrupt={len(corrupt)} kills={kills} "
              f"client errors={sum(s.errors for s in senders)} injected write errors (last "
              f"run)={m.total('tern_spool_commits_total', result='failed'):.0f}", flush=True)
        if lost or corrupt:
            print(f"soak: FAILED (seed {seed}); lost: {lost[:10]} corrupt: {corrupt[:10]}")
            status = 1
    finally:
        stop.set()
        if d.running():
            d.stop()
        sink.stop()
        if status == 0:
            d.cleanup()
        else:
            print(f"soak: kept {d.workdir} for a post-mortem")
    return status


if __name__ == "__main__":
    sys.exit(main())
